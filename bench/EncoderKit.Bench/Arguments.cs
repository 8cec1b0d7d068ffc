namespace EncoderKit.Bench;

/// <summary>"--name value" pairs after the benchmark's name.</summary>
sealed class Arguments(string[] args)
{
    public string[] Raw => args;

    public string? Get(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public int[] Ints(string name, int[] fallback) => Get(name)?.Split(',').Select(int.Parse).ToArray() ?? fallback;
    public string[] Strings(string name, string[] fallback) => Get(name)?.Split(',') ?? fallback;
    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
