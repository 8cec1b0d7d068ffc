namespace EncoderKit.Evaluation;

/// <summary>
/// NumPy's legacy global generator (np.random.seed / np.random.shuffle: MT19937 seeded by init_genrand), so that
/// MTEB's classification protocol, which undersamples with np.random.shuffle after np.random.seed(42), draws the very
/// same training examples here.
/// </summary>
public sealed class NumpyLegacyRandom
{
    const int N = 624, M = 397;
    readonly uint[] _state = new uint[N];
    int _position;

    /// <summary>As np.random.seed(<paramref name="seed"/>) for an integer seed.</summary>
    public NumpyLegacyRandom(uint seed)
    {
        _state[0] = seed;
        for (int i = 1; i < N; i++) _state[i] = 1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i;
        _position = N;
    }

    /// <summary>The next 32 random bits (genrand_int32).</summary>
    public uint NextUInt32()
    {
        if (_position >= N) Twist();
        uint y = _state[_position++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A double in [0, 1) from 53 bits, as np.random.random_sample.</summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>A uniform integer in [0, max] by masked rejection, as NumPy's random_interval.</summary>
    public uint Interval(uint max)
    {
        if (max == 0) return 0;
        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > max) { }
        return value;
    }

    /// <summary>Shuffles in place as np.random.shuffle shuffles a 1-d array: Fisher–Yates from the end.</summary>
    public void Shuffle<T>(Span<T> values)
    {
        for (int i = values.Length - 1; i >= 1; i--)
        {
            int j = (int)Interval((uint)i);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (_state[i] & 0x80000000u) | (_state[(i + 1) % N] & 0x7fffffffu);
            _state[i] = _state[(i + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0dfu : 0u);
        }
        _position = 0;
    }
}
