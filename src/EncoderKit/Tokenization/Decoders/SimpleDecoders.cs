using System.Text;
using EncoderKit.Tokenization.PreTokenizers;

namespace EncoderKit.Tokenization.Decoders;

/// <summary>{"type": "ByteLevel"}: maps the byte alphabet back to bytes and reads them as UTF-8 (invalid → U+FFFD).</summary>
internal sealed class ByteLevelDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens)
            foreach (char c in t)
            {
                if (ByteLevel.CharToByte.TryGetValue(c, out byte b)) bytes.Add(b);
                else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
            }
        return [System.Text.Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

/// <summary>{"type": "ByteFallback"}: runs of &lt;0xNN&gt; tokens become the text their bytes spell (invalid UTF-8: one U+FFFD per byte).</summary>
internal sealed class ByteFallbackDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0) return;
            var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
            try { result.Add(strict.GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD"); }
            pending.Clear();
        }
        foreach (var t in tokens)
        {
            if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                pending.Add(b);
                continue;
            }
            Flush();
            result.Add(t);
        }
        Flush();
        return result;
    }
}

/// <summary>{"type": "Fuse"}: all pieces into one.</summary>
internal sealed class FuseDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>{"type": "Strip", "content", "start", "stop"}: removes up to start/stop copies of content from each piece's ends.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(t =>
    {
        int s = 0, e = t.Length;
        for (int i = 0; i < start && s < e && t[s] == content; i++) s++;
        for (int i = 0; i < stop && e > s && t[e - 1] == content; i++) e--;
        return t[s..e];
    }).ToList();
}

/// <summary>{"type": "Replace", "pattern": {"String"|"Regex"}, "content"}: in every piece.</summary>
internal sealed class ReplaceDecoder(Normalizers.TextPattern pattern, string content) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(t => pattern.ReplaceAll(t, content)).ToList();
}

/// <summary>{"type": "Metaspace", "replacement", "prepend_scheme"}: the replacement char becomes a space, except at the very start.</summary>
internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var b = new StringBuilder(tokens[i].Length);
            foreach (char c in tokens[i])
            {
                if (c == replacement) { if (!(i == 0 && stripFirst)) b.Append(' '); }
                else b.Append(c);
            }
            result.Add(b.ToString());
        }
        return result;
    }
}

/// <summary>{"type": "BPEDecoder", "suffix"}: the end-of-word suffix becomes a space (none after the last token).</summary>
internal sealed class BpeSuffixDecoder(string suffix) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) =>
        tokens.Select((t, i) => t.Replace(suffix, i == tokens.Count - 1 ? "" : " ")).ToList();
}

/// <summary>{"type": "CTC", "pad_token", "word_delimiter_token", "cleanup"}: dedupes repeats, drops pads.</summary>
internal sealed class CtcDecoder(string padToken, string wordDelimiter, bool cleanup) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>();
        string? previous = null;
        foreach (var t in tokens)
        {
            if (t == previous) continue;
            previous = t;
            if (t == padToken) continue;
            string piece = t.Replace(wordDelimiter, " ");
            if (cleanup) piece = WordPieceDecoder.CleanupSpaces(piece);
            if (piece.Length > 0) result.Add(piece);
        }
        return result;
    }
}
