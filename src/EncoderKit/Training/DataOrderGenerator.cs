namespace EncoderKit.Training;

/// <summary>
/// The generator that orders training data: xoshiro256** (Blackman &amp; Vigna), seeded through SplitMix64, whose whole
/// state is four 64-bit words that a checkpoint can hold. System.Random's state cannot be saved, so a resumed run could
/// not continue its sequence.
/// </summary>
public sealed class DataOrderGenerator
{
    readonly ulong[] state = new ulong[4];

    public DataOrderGenerator(long seed)
    {
        ulong x = (ulong)seed;
        for (int i = 0; i < state.Length; i++)
        {
            // SplitMix64, the seeding the xoshiro authors recommend: never the all-zero state.
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            state[i] = z ^ (z >> 31);
        }
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextBits()
    {
        ulong result = ulong.RotateLeft(state[1] * 5, 7) * 9, t = state[1] << 17;
        state[2] ^= state[0];
        state[3] ^= state[1];
        state[1] ^= state[2];
        state[0] ^= state[3];
        state[2] ^= t;
        state[3] = ulong.RotateLeft(state[3], 45);
        return result;
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public long Next(long bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, 1);
        ulong range = (ulong)bound, threshold = (0 - range) % range;
        while (true)
        {
            ulong high = Math.BigMul(NextBits(), range, out ulong low);
            if (low >= threshold) return (long)high;
        }
    }

    /// <summary>A uniformly random permutation of 0..count-1 (Fisher–Yates): the order of one epoch.</summary>
    public int[] Permutation(int count)
    {
        int[] order = [.. Enumerable.Range(0, count)];
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The state, to restore with <see cref="Restore"/>.</summary>
    public long[] Save() => [.. state.Select(w => (long)w)];

    public void Restore(ReadOnlySpan<long> saved)
    {
        if (saved.Length != state.Length || saved.IndexOfAnyExcept(0L) < 0)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "a data-order generator state is four 64-bit words, not all zero", field: "rng.data_order");
        for (int i = 0; i < state.Length; i++) state[i] = (ulong)saved[i];
    }
}
