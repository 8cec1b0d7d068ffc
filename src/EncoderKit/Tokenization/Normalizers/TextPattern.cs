using System.Text.RegularExpressions;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>A <c>{"String": ...}</c> or <c>{"Regex": ...}</c> pattern of Replace and Split.</summary>
/// <remarks>
/// Regexes run on .NET's engine. Differences from the reference's Oniguruma that matter: .NET classes such as \p{L}
/// see an astral char as two surrogates (so they do not match it), and \w / \d are .NET's sets. The patterns the
/// supported families use avoid this (ByteLevel's GPT-2 split is written out by hand for that reason).
/// </remarks>
internal sealed class TextPattern
{
    readonly string? _literal;
    readonly Regex? _regex;

    TextPattern(string? literal, Regex? regex) { _literal = literal; _regex = regex; }

    public static TextPattern Literal(string s) => new(s, null);

    public static TextPattern FromRegex(string pattern, string? file, string field)
    {
        try { return new(null, new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10))); }
        catch (ArgumentException e) { throw new EncoderKitException(ErrorKind.BadTokenizer, $"invalid regex \"{pattern}\": {e.Message}", file, field); }
    }

    /// <summary>Non-overlapping matches, left to right, as (start, end); empty matches are skipped.</summary>
    public List<(int Start, int End)> Matches(string s)
    {
        var result = new List<(int, int)>();
        if (_literal is not null)
        {
            if (_literal.Length == 0) return result;
            for (int i = s.IndexOf(_literal, StringComparison.Ordinal); i >= 0; i = s.IndexOf(_literal, i + _literal.Length, StringComparison.Ordinal))
                result.Add((i, i + _literal.Length));
            return result;
        }
        foreach (Match m in _regex!.Matches(s))
            if (m.Length > 0) result.Add((m.Index, m.Index + m.Length));
        return result;
    }

    public string ReplaceAll(string s, string content)
    {
        var matches = Matches(s);
        if (matches.Count == 0) return s;
        var b = new System.Text.StringBuilder(s.Length);
        int last = 0;
        foreach (var (st, e) in matches) { b.Append(s, last, st - last).Append(content); last = e; }
        return b.Append(s, last, s.Length - last).ToString();
    }

    /// <summary>The pieces of <paramref name="s"/>: (start, end, isMatch), covering it in order.</summary>
    public List<(int Start, int End, bool IsMatch)> Pieces(string s, bool invert)
    {
        var result = new List<(int, int, bool)>();
        int last = 0;
        foreach (var (st, e) in Matches(s))
        {
            if (last < st) result.Add((last, st, invert));
            result.Add((st, e, !invert));
            last = e;
        }
        if (last < s.Length || result.Count == 0) result.Add((last, s.Length, invert));
        return result;
    }
}
