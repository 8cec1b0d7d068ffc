namespace EncoderKit.Tokenization.Unicode;

/// <summary>NFD, NFKD, NFC and NFKC over a <see cref="NormalizedText"/>, keeping alignments.</summary>
/// <remarks>
/// Alignment follows <c>tokenizers</c>, which aligns by position, not by char: every char a decomposition produces
/// is aligned like the char it came from; canonical reordering moves chars but not alignments; a composed char
/// takes the alignment of the position it starts at and consumes those of the chars it absorbed (so "e" + U+0301
/// composing to "é" points at the "e" only, as the reference's offsets do).
/// </remarks>
internal static class UnicodeNormalization
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    const int NCount = VCount * TCount, SCount = LCount * NCount;

    public static void Apply(NormalizedText text, bool compatibility, bool compose)
    {
        if (IsQuickYes(text, compatibility, compose)) return;
        var tables = UnicodeTables.Get;
        // The old chars' alignments, one per code point.
        var old = new List<(int Start, int End)>(text.Length);
        // The new chars, each with its change as tokenizers counts it: 0 replaces the next old char, +1 is inserted
        // (aligned like the previous old char), -n replaces the next old char and removes n more.
        var runes = new List<(int Rune, int Change)>(text.Length + 8);
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            old.Add(text.AlignmentAt(i));
            AppendDecomposed(tables, r, compatibility, runes);
            i += n;
        }
        Reorder(runes);
        if (compose) Compose(tables, runes);
        var w = text.Rewrite(runes.Count + 8);
        int at = 0;
        foreach (var (r, change) in runes)
        {
            var (s, e) = change > 0 ? (at > 0 ? old[at - 1] : (0, 0)) : old[Math.Min(at, old.Count - 1)];
            if (change <= 0) at += 1 - change;
            w.AppendRune(r, s, e);
        }
        w.Commit();
    }

    /// <summary>True when no char can change: for decomposition, nothing with a table entry (and no Hangul
    /// syllable); for composition, only chars below U+0300 (below U+00A0 for NFKC).</summary>
    static bool IsQuickYes(NormalizedText text, bool compatibility, bool compose)
    {
        var bmp = UnicodeTables.Get.BmpHasData;
        int limit = compatibility ? 0xA0 : 0x300;
        foreach (char c in text.Span)
        {
            if (c < 0xA0) continue;
            if (compose) { if (c >= limit) return false; continue; }
            if (c >= 0xD800 || bmp[c] || (c >= SBase && c < SBase + SCount)) return false;
        }
        return true;
    }

    static void AppendDecomposed(UnicodeTables.Tables t, int r, bool compat, List<(int, int)> output)
    {
        if (r >= SBase && r < SBase + SCount)
        {
            int si = r - SBase;
            output.Add((LBase + si / NCount, 0));
            output.Add((VBase + si % NCount / TCount, 1));
            if (si % TCount != 0) output.Add((TBase + si % TCount, 1));
            return;
        }
        if ((compat && t.Compatibility.TryGetValue(r, out var seq)) || t.Canonical.TryGetValue(r, out seq))
        {
            for (int k = 0; k < seq.Length; k++) output.Add((seq[k], k == 0 ? 0 : 1));
            return;
        }
        output.Add((r, 0));
    }

    public static int CombiningClass(int r) => r < 0x300 ? 0 : UnicodeTables.Get.Ccc.TryGetValue(r, out byte c) ? c : 0;

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class; a char's change moves with it.</summary>
    static void Reorder(List<(int Rune, int Change)> runes)
    {
        for (int i = 1; i < runes.Count; i++)
        {
            int cc = CombiningClass(runes[i].Rune);
            if (cc == 0) continue;
            for (int j = i; j > 0 && CombiningClass(runes[j - 1].Rune) > cc; j--)
                (runes[j - 1], runes[j]) = (runes[j], runes[j - 1]);
        }
    }

    /// <summary>Canonical composition; a composite's change adds up those of the chars it absorbed, less one each.</summary>
    static void Compose(UnicodeTables.Tables t, List<(int Rune, int Change)> runes)
    {
        if (runes.Count == 0) return;
        var result = new List<(int Rune, int Change)>(runes.Count);
        int starterPos = -1, lastClass = 0;
        foreach (var item in runes)
        {
            int cc = CombiningClass(item.Rune);
            if (starterPos >= 0)
            {
                bool adjacent = result.Count - 1 == starterPos;
                bool blocked = !adjacent && (lastClass == 0 || lastClass >= cc);
                if (!blocked)
                {
                    int composed = ComposePair(t, result[starterPos].Rune, item.Rune);
                    if (composed >= 0)
                    {
                        result[starterPos] = (composed, result[starterPos].Change + item.Change - 1);
                        continue;
                    }
                }
            }
            if (cc == 0) starterPos = result.Count;
            result.Add(item);
            lastClass = cc;
        }
        runes.Clear();
        runes.AddRange(result);
    }

    static int ComposePair(UnicodeTables.Tables t, int a, int b)
    {
        if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
            return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
        if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
            return a + (b - TBase);
        return t.Compose.TryGetValue((long)a << 21 | (uint)b, out int c) ? c : -1;
    }
}
