using System.Collections.Concurrent;

namespace EncoderKit.Tokenization.Models;

/// <summary>
/// {"type": "BPE", "vocab", "merges", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
/// "byte_fallback", "ignore_merges", "dropout"}: a word starts as its chars (or their &lt;0xNN&gt; bytes, or unk), then the
/// adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a merge. Dropout is a
/// training-time option and is ignored.
/// </summary>
internal sealed class Bpe : ITokenizerModel
{
    readonly Vocabulary _vocab;
    readonly Dictionary<long, (int Rank, int NewId)> _merges;
    readonly int? _unkId;
    readonly int[] _byteIds;   // id of "<0xNN>" for each byte, -1 when absent
    // Words seen before → their tokens (id, start, end); bounded so a long-running server keeps flat memory.
    readonly ConcurrentDictionary<string, (int Id, int Start, int End)[]> _cache = new();
    readonly ConcurrentDictionary<string, (int Id, int Start, int End)[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    const int CacheCapacity = 100_000;
    const int CacheMaxWordLength = 256;

    public Bpe(Vocabulary vocab, IReadOnlyList<(string A, string B)> merges, string? unkToken, string? continuingSubwordPrefix,
        string? endOfWordSuffix, bool fuseUnk, bool byteFallback, bool ignoreMerges, string? file = null)
    {
        _vocab = vocab;
        UnkToken = unkToken;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        EndOfWordSuffix = endOfWordSuffix;
        FuseUnk = fuseUnk;
        ByteFallback = byteFallback;
        IgnoreMerges = ignoreMerges;
        _unkId = unkToken is null ? null : vocab[unkToken];
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        int prefixLength = continuingSubwordPrefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            int aId = vocab[a] ?? throw Bad($"merge {rank} (\"{a} {b}\"): \"{a}\" is not in the vocabulary");
            int bId = vocab[b] ?? throw Bad($"merge {rank} (\"{a} {b}\"): \"{b}\" is not in the vocabulary");
            string merged = a + (prefixLength > 0 && b.StartsWith(continuingSubwordPrefix!, StringComparison.Ordinal) ? b[prefixLength..] : b);
            int newId = vocab[merged] ?? throw Bad($"merge {rank} (\"{a} {b}\"): \"{merged}\" is not in the vocabulary");
            _merges.TryAdd(Key(aId, bId), (rank, newId));
        }
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = vocab[$"<0x{b:X2}>"] ?? -1;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        EncoderKitException Bad(string problem) => new(ErrorKind.BadTokenizer, problem, file, "model.merges");
    }

    public string? UnkToken { get; }
    public string? ContinuingSubwordPrefix { get; }
    public string? EndOfWordSuffix { get; }
    public bool FuseUnk { get; }
    public bool ByteFallback { get; }
    public bool IgnoreMerges { get; }
    public int VocabSize => _vocab.Count;
    public int? TokenToId(string token) => _vocab[token];
    public string? IdToToken(int id) => _vocab.Token(id);

    static long Key(int a, int b) => (long)a << 32 | (uint)b;

    public void Tokenize(ReadOnlySpan<char> word, List<Token> output)
    {
        if (word.IsEmpty) return;
        if (word.Length <= CacheMaxWordLength && _cacheBySpan.TryGetValue(word, out var cached))
        {
            foreach (var (id, s, e) in cached) output.Add(new Token(id, _vocab.TokenOf(id), s, e));
            return;
        }
        var tokens = Merge(word);
        if (word.Length <= CacheMaxWordLength && _cache.Count < CacheCapacity) _cache.TryAdd(word.ToString(), tokens);
        foreach (var (id, s, e) in tokens) output.Add(new Token(id, _vocab.TokenOf(id), s, e));
    }

    struct Symbol
    {
        public int Id, Bytes, Prev, Next;
        public bool Removed;
    }

    /// <remarks>
    /// Offsets are computed as the reference computes them: each symbol has a length in UTF-8 bytes (a byte-fallback
    /// token one byte, an unknown run its bytes), a token starts where the previous one ended, and chars dropped for
    /// want of an unknown token take no room, so later offsets shift left. Byte offsets then map to whole chars.
    /// </remarks>
    (int Id, int Start, int End)[] Merge(ReadOnlySpan<char> word)
    {
        if (IgnoreMerges && _vocab.TryGet(word, out int whole)) return [(whole, 0, word.Length)];
        var symbols = new List<Symbol>(word.Length);
        (int Id, int Bytes)? unk = null;
        Span<char> buffer = stackalloc char[64];
        for (int i = 0; i < word.Length;)
        {
            int n = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            int bytes = n == 2 ? 4 : word[i] < 0x80 ? 1 : word[i] < 0x800 ? 2 : 3;
            bool first = i == 0, last = i + n == word.Length;
            var piece = Affixed(word.Slice(i, n), first, last, buffer, out string? heap);
            if (_vocab.TryGet(heap ?? piece, out int id))
            {
                if (unk is { } u) { Add(symbols, u.Id, u.Bytes); unk = null; }
                Add(symbols, id, bytes);
            }
            else if (ByteFallback && TryBytes(heap ?? piece, out var ids))
            {
                foreach (int b in ids) Add(symbols, b, 1);
            }
            else if (_unkId is int unkId)
            {
                if (unk is { } u && FuseUnk) unk = (unkId, u.Bytes + bytes);
                else
                {
                    if (unk is { } prev) Add(symbols, prev.Id, prev.Bytes);
                    unk = (unkId, bytes);
                }
            }
            i += n;
        }
        if (unk is { } rest) Add(symbols, rest.Id, rest.Bytes);
        MergeAll(symbols);

        // Byte positions of the word → the UTF-16 range of the char holding that byte.
        int totalBytes = System.Text.Encoding.UTF8.GetByteCount(word);
        var charStart = new int[totalBytes + 1];
        var charEnd = new int[totalBytes + 1];
        for (int i = 0, b = 0; i < word.Length;)
        {
            int n = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            int bytes = n == 2 ? 4 : word[i] < 0x80 ? 1 : word[i] < 0x800 ? 2 : 3;
            for (int k = 0; k < bytes; k++) { charStart[b + k] = i; charEnd[b + k] = i + n; }
            b += bytes;
            i += n;
        }
        charStart[totalBytes] = charEnd[totalBytes] = word.Length;
        var result = new List<(int, int, int)>(symbols.Count);
        int position = 0;
        foreach (var sym in symbols)
        {
            if (sym.Removed) continue;
            int s = Math.Min(position, totalBytes), e = Math.Min(position + sym.Bytes, totalBytes);
            result.Add((sym.Id, charStart[s], e > s ? charEnd[e - 1] : charStart[s]));
            position += sym.Bytes;
        }
        return [.. result];
    }

    ReadOnlySpan<char> Affixed(ReadOnlySpan<char> c, bool first, bool last, Span<char> buffer, out string? heap)
    {
        heap = null;
        string? prefix = first ? null : ContinuingSubwordPrefix;
        string? suffix = last ? EndOfWordSuffix : null;
        if (prefix is null && suffix is null) return c;
        int length = (prefix?.Length ?? 0) + c.Length + (suffix?.Length ?? 0);
        if (length > buffer.Length) { heap = string.Concat(prefix, c.ToString(), suffix); return heap; }
        int at = 0;
        prefix.AsSpan().CopyTo(buffer); at += prefix?.Length ?? 0;
        c.CopyTo(buffer[at..]); at += c.Length;
        suffix.AsSpan().CopyTo(buffer[at..]); at += suffix?.Length ?? 0;
        return buffer[..at];
    }

    bool TryBytes(ReadOnlySpan<char> piece, out int[] ids)
    {
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(piece.ToString());
        ids = new int[utf8.Length];
        for (int k = 0; k < utf8.Length; k++)
        {
            ids[k] = _byteIds[utf8[k]];
            if (ids[k] < 0) return false;
        }
        return true;
    }

    static void Add(List<Symbol> symbols, int id, int bytes)
    {
        int index = symbols.Count;
        symbols.Add(new Symbol { Id = id, Bytes = bytes, Prev = index - 1, Next = index + 1 });
    }

    void MergeAll(List<Symbol> symbols)
    {
        if (symbols.Count < 2) return;
        var s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        s[^1].Next = -1;
        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        for (int i = 0; i + 1 < s.Length; i++)
            if (_merges.TryGetValue(Key(s[i].Id, s[i + 1].Id), out var m)) queue.Enqueue((i, m.NewId), (m.Rank, i));
        while (queue.TryDequeue(out var top, out _))
        {
            ref var left = ref s[top.Pos];
            if (left.Removed || left.Next < 0) continue;
            ref var right = ref s[left.Next];
            // Stale entry: the pair at this position changed since it was queued.
            if (!_merges.TryGetValue(Key(left.Id, right.Id), out var current) || current.NewId != top.NewId) continue;
            left.Id = top.NewId;
            left.Bytes += right.Bytes;
            right.Removed = true;
            left.Next = right.Next;
            if (right.Next >= 0) s[right.Next].Prev = top.Pos;
            if (left.Prev >= 0 && _merges.TryGetValue(Key(s[left.Prev].Id, left.Id), out var p))
                queue.Enqueue((left.Prev, p.NewId), (p.Rank, left.Prev));
            if (left.Next >= 0 && _merges.TryGetValue(Key(left.Id, s[left.Next].Id), out var nx))
                queue.Enqueue((top.Pos, nx.NewId), (nx.Rank, top.Pos));
        }
    }
}
