using System.Globalization;
using System.Text;

namespace EncoderKit.Tokenization.Unicode;

/// <summary>Character classes as Hugging Face <c>tokenizers</c> (Rust) decides them.</summary>
static class UnicodeText
{
    /// <summary>Rust <c>char::is_whitespace</c>: the White_Space property (the same set .NET uses).</summary>
    public static bool IsWhiteSpace(int c) => c < 0x10000 && char.IsWhiteSpace((char)c);

    /// <summary>
    /// BertNormalizer's control test: Cc, Cf or Co (Cs cannot occur), except tab, newline and carriage return
    /// (which count as whitespace).
    /// </summary>
    /// <remarks>
    /// The reference takes categories from the <c>unicode_categories</c> crate, whose tables are of Unicode 8.0 and
    /// have no Cn (unassigned) entries: so unassigned chars are kept, and so are chars that became Cf later
    /// (U+08E2, U+13430…); we check both against a Rust-tokenizers run. The same holds for P* and Mn below.
    /// </remarks>
    public static bool IsBertControl(int c)
    {
        if (c == '\t' || c == '\n' || c == '\r') return false;
        var cat = Category(c);
        return cat is UnicodeCategory.Control or UnicodeCategory.PrivateUse
            || (cat == UnicodeCategory.Format && !AssignedAfterUnicode8(c));
    }

    /// <summary>Whether <paramref name="c"/> was not yet assigned in Unicode 8.0 (the version of the reference's category tables).</summary>
    public static bool AssignedAfterUnicode8(int c)
    {
        if (c < 0x370) return false;
        var ranges = UnicodeTables.AssignedByUnicode8;
        int lo = 0, hi = ranges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (c < ranges[2 * mid]) hi = mid - 1;
            else if (c > ranges[2 * mid + 1]) lo = mid + 1;
            else return false;
        }
        return true;
    }

    /// <summary>BertNormalizer's whitespace: tab, newline, carriage return, or White_Space.</summary>
    public static bool IsBertWhiteSpace(int c) => c == '\t' || c == '\n' || c == '\r' || IsWhiteSpace(c);

    /// <summary>Unicode punctuation (Pc Pd Ps Pe Pi Pf Po) as of Unicode 8.0 (see <see cref="IsBertControl"/>).</summary>
    public static bool IsPunctuation(int c) => !AssignedAfterUnicode8(c) && Category(c) is UnicodeCategory.ConnectorPunctuation
        or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
        or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>BertPreTokenizer's punctuation: any ASCII punctuation (which includes $+&lt;=&gt;^`|~) or Unicode P*.</summary>
    public static bool IsBertPunctuation(int c) =>
        c < 0x80 ? (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) : IsPunctuation(c);

    /// <summary>The CJK ideograph blocks the original BERT code surrounds with spaces.</summary>
    public static bool IsChineseChar(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>Mn as of Unicode 8.0 (see <see cref="IsBertControl"/>).</summary>
    public static bool IsNonSpacingMark(int c) => Category(c) == UnicodeCategory.NonSpacingMark && !AssignedAfterUnicode8(c);

    /// <summary>Rust's <c>\w</c> in Unicode mode, approximated by categories: letters, marks, Nd, Nl, Pc, ZWNJ/ZWJ.</summary>
    public static bool IsWordChar(int c)
    {
        if (c == 0x200C || c == 0x200D) return true;
        return Category(c) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
                or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
                or UnicodeCategory.LetterNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => false,
        };
    }

    public static bool IsLetter(int c) => Category(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
        or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;

    /// <summary>\p{N}: Nd, Nl, No (also Rust's <c>char::is_numeric</c>).</summary>
    public static bool IsNumber(int c) => Category(c) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    public static UnicodeCategory Category(int c) =>
        c < 0x10000 ? CharUnicodeInfo.GetUnicodeCategory((char)c) : CharUnicodeInfo.GetUnicodeCategory(c);

    /// <summary>
    /// Rust's <c>char::to_lowercase</c>: the full (not simple) lowercase mapping. The only unconditional
    /// SpecialCasing entry is U+0130, which becomes "i̇" (two chars); everything else is the simple mapping.
    /// Writes the result into <paramref name="dest"/> and returns how many runes (1 or 2).
    /// </summary>
    public static int ToLower(int c, Span<int> dest)
    {
        if (c == 0x130) { dest[0] = 'i'; dest[1] = 0x307; return 2; }
        if (c < 0x80) { dest[0] = c is >= 'A' and <= 'Z' ? c + 32 : c; return 1; }
        dest[0] = Rune.ToLowerInvariant(new Rune(c)).Value;
        return 1;
    }
}
