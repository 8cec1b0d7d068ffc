namespace EncoderKit.Pretraining;

/// <summary>
/// Seeds for the run's independent random streams (epoch order, NSP pairs, masking, the held-out sequences' masks) from the run seed and counters,
/// so each draw is a pure function of where it happens: nothing to checkpoint, identical after a resume.
/// </summary>
static class SeedMix
{
    public const long EpochOrder = 1, SentencePairs = 2, Masking = 3, HeldOut = 4;

    /// <summary>SplitMix64's finaliser folded over the values: distinct inputs give unrelated seeds.</summary>
    public static long Of(long seed, long stream, long a, long b = 0)
    {
        ulong z = Finalise((ulong)seed);
        foreach (long value in (ReadOnlySpan<long>)[stream, a, b]) z = Finalise(z ^ (ulong)value);
        return (long)z;
    }

    static ulong Finalise(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
