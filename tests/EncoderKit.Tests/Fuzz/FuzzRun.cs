using System.Diagnostics;
using System.Text;

namespace EncoderKit.Tests.Fuzz;

/// <summary>What went wrong on one mutant: anything but <see cref="EncoderKitException"/> escaping the loader.</summary>
public sealed record FuzzEscape(int Case, string Exception, string Message, string Where, byte[] Input)
{
    /// <summary>Type plus the frame it was thrown from: escapes with the same signature are one bug.</summary>
    public string Signature => $"{Exception} at {Where}";

    public override string ToString() =>
        $"case {Case}: {Signature}: {Message}\n  input ({Input.Length} bytes): {Printable(Input, 600)}";

    public static string Printable(byte[] bytes, int max)
    {
        var b = new StringBuilder();
        foreach (byte x in bytes.Take(max)) b.Append(x is >= 0x20 and < 0x7F && x != '\\' ? (char)x : $"\\x{x:X2}");
        return bytes.Length > max ? b + "..." : b.ToString();
    }
}

public sealed record FuzzReport(string Kind, int Cases, int Accepted, int TypedErrors, IReadOnlyList<FuzzEscape> Escapes, double SlowestSeconds, int SlowestCase)
{
    public string Summary => $"{Kind,-16} {Cases,7} cases {Accepted,7} loaded {TypedErrors,7} typed errors {Escapes.Count,5} escapes  slowest {SlowestSeconds:F3} s (case {SlowestCase})";
}

/// <summary>Runs a kind's loader over seeded mutants of its seeds; case <c>i</c> of seed <c>s</c> is the same file on every run.</summary>
public static class FuzzRun
{
    public static FuzzReport Run(FuzzKind kind, int cases, int seed)
    {
        string dir = Directory.CreateTempSubdirectory($"encoderkit-fuzz-{kind.Name}-").FullName;
        try
        {
            kind.Prepare(dir);
            int accepted = 0, typed = 0, slowestCase = -1;
            double slowest = 0;
            var escapes = new List<FuzzEscape>();
            for (int i = 0; i < cases; i++)
            {
                var rng = new Random(unchecked(seed * 1_000_003 + i * 7_919 + kind.Name.Length));   // not HashCode: it is salted per process
                byte[] parent = kind.Seeds[rng.Next(kind.Seeds.Count)];
                byte[] input = kind.Mutate(parent, rng);
                var clock = Stopwatch.StartNew();
                try
                {
                    kind.Load(dir, input);
                    accepted++;
                }
                catch (EncoderKitException)
                {
                    typed++;
                }
                catch (Exception e)
                {
                    Exception inner = e is System.Reflection.TargetInvocationException { InnerException: { } x } ? x : e;
                    // The first frame in EncoderKit's own code is where the check is missing.
                    string where = new StackTrace(inner, false).GetFrames().Select(f => f.GetMethod())
                        .FirstOrDefault(m => m?.DeclaringType?.Namespace?.StartsWith("EncoderKit", StringComparison.Ordinal) == true) is { } m
                        ? $"{m.DeclaringType!.Name}.{m.Name}" : "?";
                    escapes.Add(new FuzzEscape(i, inner.GetType().Name, inner.Message, where, input));
                }
                if (clock.Elapsed.TotalSeconds > slowest) (slowest, slowestCase) = (clock.Elapsed.TotalSeconds, i);
                // Mutants with ids near the limit build 100 MB tables; left to itself the GC let 30,000 of them grow the
                // process to 22 GB (large objects wait for a full collection) and the machine's OOM killer ended it.
                if (i % 256 == 255) GC.Collect();
            }
            return new FuzzReport(kind.Name, cases, accepted, typed, escapes, slowest, slowestCase);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
