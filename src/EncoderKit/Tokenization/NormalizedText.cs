using System.Runtime.CompilerServices;
using System.Text;

namespace EncoderKit.Tokenization;

/// <summary>
/// A piece of text on its way through the normalizers and pre-tokenizers. Every UTF-16 unit of the
/// current (normalized) form remembers the <c>[start, end)</c> range of the original input it came
/// from, so token offsets always point into the caller's string, whatever the stages did.
/// </summary>
/// <remarks>
/// This mirrors <c>NormalizedString</c> in Hugging Face <c>tokenizers</c>, which keeps one alignment per
/// UTF-8 byte; we keep one per UTF-16 unit, and both halves of a surrogate pair carry the same range.
/// Alignments are absolute (into <see cref="Original"/>), so a slice needs no shift.
/// </remarks>
internal sealed class NormalizedText
{
    char[] _chars;
    int[] _starts;
    int[] _ends;
    int _length;

    /// <summary>The whole input string this text (or slice) came from.</summary>
    public string Original { get; }

    /// <summary>Where this text begins in <see cref="Original"/> (used for empty texts and empty ranges).</summary>
    public int OriginalStart { get; }

    /// <summary>Where this text ends in <see cref="Original"/>.</summary>
    public int OriginalEnd { get; }

    /// <summary>A text over <c>original[start..end)</c>, each unit aligned to itself.
    /// An unpaired surrogate becomes U+FFFD (as converting to UTF-8 would), keeping its alignment.</summary>
    public NormalizedText(string original, int start, int end)
    {
        Original = original;
        OriginalStart = start;
        OriginalEnd = end;
        int n = end - start;
        _chars = new char[Math.Max(n, 1)];
        _starts = new int[_chars.Length];
        _ends = new int[_chars.Length];
        original.AsSpan(start, n).CopyTo(_chars);
        for (int i = 0; i < n; i++)
        {
            char c = _chars[i];
            if (char.IsHighSurrogate(c) && i + 1 < n && char.IsLowSurrogate(_chars[i + 1]))
            {
                _starts[i] = _starts[i + 1] = start + i;
                _ends[i] = _ends[i + 1] = start + i + 2;
                i++;
                continue;
            }
            if (char.IsSurrogate(c)) _chars[i] = '\uFFFD';
            _starts[i] = start + i;
            _ends[i] = start + i + 1;
        }
        _length = n;
    }

    NormalizedText(string original, int originalStart, int originalEnd, char[] chars, int[] starts, int[] ends, int length)
    {
        Original = original;
        OriginalStart = originalStart;
        OriginalEnd = originalEnd;
        _chars = chars;
        _starts = starts;
        _ends = ends;
        _length = length;
    }

    public int Length => _length;

    public ReadOnlySpan<char> Span => _chars.AsSpan(0, _length);

    public char this[int index] => _chars[index];

    public bool IsEmpty => _length == 0;

    public override string ToString() => new(Span);

    /// <summary>The original range of normalized unit <paramref name="index"/>.</summary>
    public (int Start, int End) AlignmentAt(int index) => (_starts[index], _ends[index]);

    /// <summary>
    /// The original range covered by normalized <c>[start, end)</c>: from the first unit's start to the last
    /// unit's end, as <c>tokenizers</c> converts offsets. An empty range maps to an empty range at its place.
    /// </summary>
    public (int Start, int End) ToOriginal(int start, int end)
    {
        if (start >= end)
        {
            int at = start < _length ? _starts[start] : _length > 0 ? _ends[_length - 1] : OriginalStart;
            return (at, at);
        }
        return (_starts[start], _ends[end - 1]);
    }

    /// <summary>A new text holding normalized units <c>[start, end)</c> and their alignments.</summary>
    public NormalizedText Slice(int start, int end)
    {
        int n = end - start;
        var chars = new char[Math.Max(n, 1)];
        var starts = new int[chars.Length];
        var ends = new int[chars.Length];
        _chars.AsSpan(start, n).CopyTo(chars);
        _starts.AsSpan(start, n).CopyTo(starts);
        _ends.AsSpan(start, n).CopyTo(ends);
        var (os, oe) = n > 0 ? (_starts[start], _ends[end - 1]) : ToOriginal(start, start);
        return new NormalizedText(Original, os, oe, chars, starts, ends, n);
    }

    /// <summary>Reads the rune at <paramref name="index"/> (a surrogate pair counts as one) and its length in units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int RuneAt(int index, out int units)
    {
        char c = _chars[index];
        if (char.IsHighSurrogate(c) && index + 1 < _length && char.IsLowSurrogate(_chars[index + 1]))
        {
            units = 2;
            return char.ConvertToUtf32(c, _chars[index + 1]);
        }
        units = 1;
        return c;
    }

    /// <summary>Starts rewriting this text; append the new units with their alignments, then <see cref="Writer.Commit"/>.</summary>
    public Writer Rewrite(int capacityHint = 0) => new(this, Math.Max(capacityHint, _length));

    /// <summary>Collects the new normalized form of a <see cref="NormalizedText"/>.</summary>
    public sealed class Writer
    {
        readonly NormalizedText _target;
        char[] _chars;
        int[] _starts;
        int[] _ends;
        int _length;

        internal Writer(NormalizedText target, int capacity)
        {
            _target = target;
            capacity = Math.Max(capacity, 4);
            _chars = new char[capacity];
            _starts = new int[capacity];
            _ends = new int[capacity];
        }

        public int Length => _length;

        /// <summary>Appends one UTF-16 unit aligned to original <c>[start, end)</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(char c, int start, int end)
        {
            if (_length == _chars.Length) Grow();
            _chars[_length] = c;
            _starts[_length] = start;
            _ends[_length] = end;
            _length++;
        }

        /// <summary>Appends a code point (one or two units) aligned to original <c>[start, end)</c>.</summary>
        public void AppendRune(int rune, int start, int end)
        {
            if (rune < 0x10000) { Append((char)rune, start, end); return; }
            var r = new Rune(rune);
            Span<char> pair = stackalloc char[2];
            r.EncodeToUtf16(pair);
            Append(pair[0], start, end);
            Append(pair[1], start, end);
        }

        /// <summary>Appends unit <paramref name="index"/> of the text being rewritten, with its own alignment.</summary>
        public void Keep(int index) => Append(_target._chars[index], _target._starts[index], _target._ends[index]);

        /// <summary>Appends <paramref name="rune"/> aligned like unit <paramref name="index"/> of the text being rewritten.</summary>
        public void AppendLike(int rune, int index) => AppendRune(rune, _target._starts[index], _target._ends[index]);

        void Grow()
        {
            int n = _chars.Length * 2;
            Array.Resize(ref _chars, n);
            Array.Resize(ref _starts, n);
            Array.Resize(ref _ends, n);
        }

        /// <summary>Replaces the target's normalized form with what was appended.</summary>
        public void Commit()
        {
            _target._chars = _chars;
            _target._starts = _starts;
            _target._ends = _ends;
            _target._length = _length;
        }
    }
}
