using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>
/// SentencePiece's precompiled character map: a Darts double-array trie over UTF-8 keys whose values point at
/// NUL-terminated replacement strings. Blob layout: u32 trie size in bytes, the trie units, the strings.
/// </summary>
internal sealed class CharsMap
{
    readonly uint[] _units;
    readonly byte[] _strings;

    public CharsMap(byte[] blob, string? file)
    {
        if (blob.Length < 4) throw Bad();
        uint trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize % 4 != 0 || trieSize > blob.Length - 4) throw Bad();
        _units = new uint[trieSize / 4];
        for (int i = 0; i < _units.Length; i++) _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + i * 4));
        _strings = blob[(int)(4 + trieSize)..];
        EncoderKitException Bad() => new(ErrorKind.BadTokenizer, "malformed precompiled_charsmap", file);
    }

    public bool IsEmpty => _units.Length == 0;

    /// <summary>Every (prefix length in bytes, value) of the keys that are prefixes of <paramref name="key"/>, shortest first.</summary>
    public void CommonPrefixSearch(ReadOnlySpan<byte> key, List<(int Length, int Value)> results)
    {
        results.Clear();
        if (_units.Length == 0) return;
        uint nodePos = 0;
        uint unit = _units[0];
        nodePos ^= Offset(unit);
        for (int i = 0; i < key.Length; i++)
        {
            nodePos ^= key[i];
            if (nodePos >= _units.Length) return;
            unit = _units[nodePos];
            if ((unit & ((1u << 31) | 0xFF)) != key[i]) return;
            nodePos ^= Offset(unit);
            if (((unit >> 8) & 1) == 1 && nodePos < _units.Length)
                results.Add((i + 1, (int)(_units[nodePos] & ((1u << 31) - 1))));
        }
    }

    static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    /// <summary>The replacement string stored at <paramref name="value"/>.</summary>
    public string StringAt(int value)
    {
        if ((uint)value >= (uint)_strings.Length) return "";
        int end = Array.IndexOf(_strings, (byte)0, value);
        return System.Text.Encoding.UTF8.GetString(_strings, value, (end < 0 ? _strings.Length : end) - value);
    }
}

/// <summary>
/// {"type": "Precompiled", "precompiled_charsmap"} as <c>tokenizers</c> applies it: per grapheme cluster (shorter than
/// 6 UTF-8 bytes) the first (shortest) matching rule, else char by char. Replacement chars take the alignment of
/// the chars they replace in order; extra ones the last one's; a shorter replacement drops the rest.
/// </summary>
internal sealed class Precompiled(CharsMap map) : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        if (map.IsEmpty || text.IsEmpty) return;
        string s = text.ToString();
        var w = text.Rewrite(text.Length + 8);
        var results = new List<(int, int)>();
        bool modified = false;
        for (int g = 0; g < s.Length;)
        {
            int glen = StringInfo.GetNextTextElementLength(s, g);
            if (glen <= 0) glen = 1;
            var grapheme = s.AsSpan(g, glen);
            if (System.Text.Encoding.UTF8.GetByteCount(grapheme) < 6 && Lookup(grapheme, results) is string whole)
            {
                Emit(w, text, g, glen, whole);
                modified = true;
            }
            else
            {
                for (int i = g; i < g + glen;)
                {
                    int n = char.IsHighSurrogate(s[i]) && i + 1 < g + glen && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
                    if (Lookup(s.AsSpan(i, n), results) is string part) { Emit(w, text, i, n, part); modified = true; }
                    else for (int k = 0; k < n; k++) w.Keep(i + k);
                    i += n;
                }
            }
            g += glen;
        }
        if (modified) w.Commit();
    }

    string? Lookup(ReadOnlySpan<char> chunk, List<(int Length, int Value)> results)
    {
        Span<byte> buffer = stackalloc byte[64];
        int n = System.Text.Encoding.UTF8.GetByteCount(chunk);
        var bytes = n <= buffer.Length ? buffer[..n] : new byte[n];
        System.Text.Encoding.UTF8.GetBytes(chunk, bytes);
        map.CommonPrefixSearch(bytes, results);
        return results.Count == 0 ? null : map.StringAt(results[0].Value);
    }

    /// <summary>Replacement of the units [start, start+length): the i-th new char aligned like the i-th old char (the last one for extras).</summary>
    static void Emit(NormalizedText.Writer w, NormalizedText text, int start, int length, string replacement)
    {
        var olds = new List<int>();
        for (int i = start; i < start + length;)
        {
            olds.Add(i);
            i += char.IsHighSurrogate(text[i]) && i + 1 < start + length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        }
        int k = 0;
        for (int i = 0; i < replacement.Length;)
        {
            int n = char.IsHighSurrogate(replacement[i]) && i + 1 < replacement.Length ? 2 : 1;
            int old = olds[Math.Min(k, olds.Count - 1)];
            var (os, oe) = text.AlignmentAt(old);
            for (int j = 0; j < n; j++) w.Append(replacement[i + j], os, oe);
            i += n;
            k++;
        }
    }
}
