using System.Text;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// What sentence-transformers' Transformer.tokenize does to a text before the tokenizer sees it: Python's
/// <c>str.strip()</c>, then <c>str.lower()</c> when the model asks for do_lower_case.
/// </summary>
public static class TextPreparation
{
    public static string Prepare(string text, bool lowercase)
    {
        string stripped = PythonStrip(text);
        return lowercase ? Lower(stripped) : stripped;
    }

    /// <summary>
    /// Python's whitespace: .NET's char.IsWhiteSpace plus U+001C…U+001F (Python counts the information separators
    /// as whitespace; .NET does not).
    /// </summary>
    public static bool IsPythonWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    public static string PythonStrip(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && IsPythonWhiteSpace(text[start])) start++;
        while (end > start && IsPythonWhiteSpace(text[end - 1])) end--;
        return start == 0 && end == text.Length ? text : text[start..end];
    }

    /// <summary>Full Unicode lowercase mapping per code point (U+0130 becomes "i̇").</summary>
    /// <remarks>Python also maps a word-final capital sigma to ς; this keeps σ, as the tokenizers' Lowercase does.</remarks>
    public static string Lower(string text)
    {
        var result = new StringBuilder(text.Length);
        Span<int> lower = stackalloc int[3];
        for (int i = 0; i < text.Length;)
        {
            if (char.IsSurrogate(text[i]) && !char.IsSurrogatePair(text, i))
            {
                result.Append(text[i++]);   // a lone surrogate has no case
                continue;
            }
            int rune = char.IsSurrogatePair(text, i) ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            int n = UnicodeText.ToLower(rune, lower);
            for (int k = 0; k < n; k++) result.Append(char.ConvertFromUtf32(lower[k]));
            i += rune > 0xFFFF ? 2 : 1;
        }
        return result.ToString();
    }
}
