using System.Text;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.PreTokenizers;

/// <summary>
/// {"type": "ByteLevel", "add_prefix_space", "use_regex", "trim_offsets"}: optionally prepends a space, splits with
/// the GPT-2 pattern, then replaces every UTF-8 byte by a printable char (GPT-2's byte alphabet: ' ' → 'Ġ').
/// All chars made from one original char carry that char's alignment.
/// </summary>
internal sealed class ByteLevel(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public bool AddPrefixSpace { get; } = addPrefixSpace;
    public bool UseRegex { get; } = useRegex;

    /// <summary>GPT-2's byte → char table: printable Latin-1 bytes stand for themselves, the rest map to U+0100 upward.</summary>
    public static readonly char[] ByteToChar = BuildTable();
    public static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(p => p.c, p => p.Item2);

    static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    public void PreTokenize(PreTokenizedText text)
    {
        text.SplitEach((t, output) =>
        {
            if (AddPrefixSpace && (t.Length == 0 || t[0] != ' ')) Normalizers.Prepend.Apply(t, " ");
            if (UseRegex) Gpt2Split(t, output);
            else output.Add(t);
        });
        text.TransformEach(MapBytes);
    }

    /// <summary>Rewrites each char as the byte-alphabet chars of its UTF-8 bytes.</summary>
    internal static void MapBytes(NormalizedText t)
    {
        var w = t.Rewrite(t.Length * 2);
        Span<byte> bytes = stackalloc byte[4];
        for (int i = 0; i < t.Length;)
        {
            int r = t.RuneAt(i, out int n);
            var (s, e) = t.AlignmentAt(i);
            if (r < 0x80) w.Append(ByteToChar[r], s, e);
            else
            {
                int count = new Rune(r).EncodeToUtf8(bytes);
                for (int k = 0; k < count; k++) w.Append(ByteToChar[bytes[k]], s, e);
            }
            i += n;
        }
        w.Commit();
    }

    /// <summary>
    /// The GPT-2 pattern <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, written out by
    /// hand: .NET's Regex sees an astral letter as two surrogates (not \p{L}), which would split such text differently.
    /// Alternatives are tried in order at each position, as the reference's regex engine does; pieces are isolated.
    /// </summary>
    internal static void Gpt2Split(NormalizedText t, List<NormalizedText> output)
    {
        foreach (var (s, e) in Gpt2Pieces(t.Span)) output.Add(s == 0 && e == t.Length ? t : t.Slice(s, e));
    }

    internal static List<(int Start, int End)> Gpt2Pieces(ReadOnlySpan<char> s)
    {
        var pieces = new List<(int, int)>();
        int i = 0;
        while (i < s.Length)
        {
            int end = MatchAt(s, i);
            pieces.Add((i, end));
            i = end;
        }
        return pieces;
    }

    enum Kind { Space, Letter, Number, Other }

    static Kind KindAt(ReadOnlySpan<char> s, int i, out int n)
    {
        int r = RuneAt(s, i, out n);
        if (UnicodeText.IsWhiteSpace(r)) return Kind.Space;
        if (UnicodeText.IsLetter(r)) return Kind.Letter;
        if (UnicodeText.IsNumber(r)) return Kind.Number;
        return Kind.Other;
    }

    static int RuneAt(ReadOnlySpan<char> s, int i, out int n)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { n = 2; return char.ConvertToUtf32(c, s[i + 1]); }
        n = 1;
        return c;
    }

    static int RunOf(ReadOnlySpan<char> s, int i, Kind kind)
    {
        while (i < s.Length && KindAt(s, i, out int n) == kind) i += n;
        return i;
    }

    static int MatchAt(ReadOnlySpan<char> s, int i)
    {
        // 's 't 're 've 'm 'll 'd
        if (s[i] == '\'' && i + 1 < s.Length)
        {
            char a = s[i + 1];
            if (a is 's' or 't' or 'm' or 'd') return i + 2;
            if (i + 2 < s.Length)
            {
                char b = s[i + 2];
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
            }
        }
        int body = s[i] == ' ' && i + 1 < s.Length ? i + 1 : i;
        var kind = KindAt(s, body, out _);
        if (body == i + 1 && kind == Kind.Space) body = i;   // " " then whitespace: the optional space matches nothing
        kind = KindAt(s, body, out _);
        if (kind is Kind.Letter or Kind.Number or Kind.Other) return RunOf(s, body, kind);
        // Whitespace at i: \s+(?!\S), else \s+.
        int runEnd = RunOf(s, i, Kind.Space);
        if (runEnd == s.Length) return runEnd;
        int firstLength = RuneAt(s, i, out int n0) >= 0 ? n0 : 1;
        if (runEnd - i > firstLength)
        {
            // Give back the last whitespace char so that the run is not followed by a non-space.
            int back = char.IsLowSurrogate(s[runEnd - 1]) && runEnd - 2 >= i && char.IsHighSurrogate(s[runEnd - 2]) ? 2 : 1;
            return runEnd - back;
        }
        return runEnd;
    }
}
