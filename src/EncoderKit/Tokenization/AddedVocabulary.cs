using System.Text;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization;

/// <summary>A token added on top of the model's vocabulary (an entry of tokenizer.json's <c>added_tokens</c>).</summary>
/// <param name="Special">Skipped by <see cref="Tokenizer.Decode"/> with skipSpecialTokens.</param>
/// <param name="SingleWord">Only matches when not inside a word.</param>
/// <param name="LStrip">Also takes the whitespace before it.</param>
/// <param name="RStrip">Also takes the whitespace after it.</param>
/// <param name="Normalized">Matched against the normalized text (with its content normalized) instead of the raw text.</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LStrip = false,
    bool RStrip = false, bool Normalized = false);

/// <summary>
/// Finds added tokens in the input before the model runs, as <c>tokenizers</c>' AddedVocabulary does: first the
/// non-normalized ones in the raw text, then, after normalizing the rest piece by piece, the normalized ones.
/// Matching is leftmost-longest; a match that fails <c>single_word</c> is skipped, not retried at a shorter length.
/// </summary>
internal sealed class AddedVocabulary
{
    readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);
    readonly Dictionary<int, AddedToken> _byId = new();
    readonly HashSet<string> _specialContents = new(StringComparer.Ordinal);
    readonly Trie _raw = new();
    readonly Trie _normalized = new();

    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer)
    {
        foreach (var t in tokens)
        {
            if (t.Content.Length == 0) continue;
            _byContent[t.Content] = t;
            _byId[t.Id] = t;
            if (t.Special) _specialContents.Add(t.Content);
        }
        foreach (var t in _byId.Values)
        {
            if (!t.Normalized) { _raw.Add(t.Content, t); continue; }
            var content = new NormalizedText(t.Content, 0, t.Content.Length);
            normalizer?.Normalize(content);
            if (!content.IsEmpty) _normalized.Add(content.ToString(), t);
        }
    }

    public IReadOnlyCollection<AddedToken> Tokens => _byId.Values;

    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);

    public AddedToken? ByContent(string content) => _byContent.GetValueOrDefault(content);

    public bool IsSpecial(string content) => _specialContents.Contains(content);

    /// <summary>Splits <paramref name="text"/>[start..end) into added tokens and normalized pieces.</summary>
    public PreTokenizedText ExtractAndNormalize(string text, int start, int end, INormalizer? normalizer)
    {
        var result = new PreTokenizedText();
        var whole = new NormalizedText(text, start, end);
        var first = new List<Split>();
        SplitMatches(whole, _raw, first);
        foreach (var s in first)
        {
            if (s.Tokens is not null) { result.Splits.Add(s); continue; }
            normalizer?.Normalize(s.Text);
            SplitMatches(s.Text, _normalized, result.Splits);
        }
        return result;
    }

    void SplitMatches(NormalizedText t, Trie trie, List<Split> output)
    {
        if (trie.IsEmpty || t.IsEmpty)
        {
            if (!t.IsEmpty) output.Add(new Split(t));
            return;
        }
        var span = t.Span;
        int previousEnd = 0;
        int i = 0;
        while (i < span.Length)
        {
            var (token, length) = trie.LongestAt(span, i);
            if (token is null) { i++; continue; }
            int start = i, stop = i + length;
            if (token.SingleWord)
            {
                bool startOk = start == 0 || !EndsWithWordChar(span[..start]);
                bool stopOk = stop == span.Length || !StartsWithWordChar(span[stop..]);
                if (!startOk || !stopOk) { i = stop; continue; }
            }
            if (token.LStrip)
            {
                int s = start;
                while (s > 0 && IsSpaceBefore(span, s, out int n)) s -= n;
                start = Math.Max(s, previousEnd);
            }
            if (token.RStrip)
            {
                while (stop < span.Length && IsSpaceAt(span, stop, out int n)) stop += n;
            }
            if (previousEnd < start) output.Add(new Split(t.Slice(previousEnd, start)));
            var piece = t.Slice(start, stop);
            output.Add(new Split(piece, [new Token(token.Id, piece.ToString(), 0, piece.Length)]));
            previousEnd = stop;
            i = stop;
        }
        if (previousEnd < span.Length) output.Add(new Split(previousEnd == 0 ? t : t.Slice(previousEnd, span.Length)));
    }

    static bool IsSpaceAt(ReadOnlySpan<char> s, int i, out int n)
    {
        int r = Rune.DecodeFromUtf16(s[i..], out var rune, out n) == System.Buffers.OperationStatus.Done ? rune.Value : 0xFFFD;
        return UnicodeText.IsWhiteSpace(r);
    }

    static bool IsSpaceBefore(ReadOnlySpan<char> s, int end, out int n)
    {
        int r = Rune.DecodeLastFromUtf16(s[..end], out var rune, out n) == System.Buffers.OperationStatus.Done ? rune.Value : 0xFFFD;
        return UnicodeText.IsWhiteSpace(r);
    }

    static bool EndsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeLastFromUtf16(s, out var r, out _) == System.Buffers.OperationStatus.Done && UnicodeText.IsWordChar(r.Value);

    static bool StartsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeFromUtf16(s, out var r, out _) == System.Buffers.OperationStatus.Done && UnicodeText.IsWordChar(r.Value);

    /// <summary>A character trie over the added tokens' contents.</summary>
    sealed class Trie
    {
        sealed class Node
        {
            public Dictionary<char, Node>? Next;
            public AddedToken? Token;
        }

        readonly Node _root = new();
        readonly HashSet<char> _firstChars = new();

        public bool IsEmpty => _firstChars.Count == 0;

        public void Add(string content, AddedToken token)
        {
            var node = _root;
            foreach (char c in content)
            {
                node.Next ??= new Dictionary<char, Node>();
                if (!node.Next.TryGetValue(c, out var next)) node.Next[c] = next = new Node();
                node = next;
            }
            node.Token ??= token;
            _firstChars.Add(content[0]);
        }

        public (AddedToken? Token, int Length) LongestAt(ReadOnlySpan<char> s, int start)
        {
            if (!_firstChars.Contains(s[start])) return (null, 0);
            AddedToken? best = null;
            int bestLength = 0;
            var node = _root;
            for (int i = start; i < s.Length; i++)
            {
                if (node.Next is null || !node.Next.TryGetValue(s[i], out node)) break;
                if (node.Token is not null) { best = node.Token; bestLength = i + 1 - start; }
            }
            return (best, bestLength);
        }
    }
}
