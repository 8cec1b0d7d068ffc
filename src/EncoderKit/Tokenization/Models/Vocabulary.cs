namespace EncoderKit.Tokenization.Models;

/// <summary>token ↔ id, looked up by span without allocating.</summary>
internal sealed class Vocabulary
{
    readonly Dictionary<string, int> _ids;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    readonly string?[] _tokens;

    public Vocabulary(Dictionary<string, int> ids)
    {
        _ids = ids;
        _bySpan = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        int max = ids.Count == 0 ? -1 : ids.Values.Max();
        _tokens = new string?[max + 1];
        foreach (var (token, id) in ids) _tokens[id] = token;
    }

    public int Count => _ids.Count;

    /// <summary>One past the highest id.</summary>
    public int IdLimit => _tokens.Length;

    public IReadOnlyDictionary<string, int> Ids => _ids;

    public bool TryGet(ReadOnlySpan<char> token, out int id) => _bySpan.TryGetValue(token, out id);

    public int? this[string token] => _ids.TryGetValue(token, out int id) ? id : null;

    public string? Token(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>The token string for an id known to exist.</summary>
    public string TokenOf(int id) => _tokens[id]!;
}
