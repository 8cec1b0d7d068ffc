using System.Text;
using EncoderKit.Hub;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Cli;

/// <summary>
/// What one run of <c>encoderkit</c> reads and writes: its standard input, output and error, the environment variables
/// it sees, and whether output and error are terminals. Commands touch nothing else, so runs in one process (the
/// tests') never share state.
/// </summary>
sealed class CliInvocation(TextReader input, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?> environment)
{
    public TextReader In { get; } = input;
    public TextWriter Out { get; } = output;

    /// <summary>Standard error; safe to write from several threads (downloads report from theirs).</summary>
    public TextWriter Error { get; } = TextWriter.Synchronized(error);

    public IReadOnlyDictionary<string, string?> Environment { get; } = environment;
    public bool OutputIsTerminal { get; init; }
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Library warnings, one "encoderkit: warning: …" line each.</summary>
    public ILogger Warnings => field ??= new StderrLogger(Error, LogLevel.Warning);

    /// <summary>Library notes and warnings ("encoderkit: note: …"), for the commands that show how a model was read.</summary>
    public ILogger Notes => field ??= new StderrLogger(Error, LogLevel.Information);

    /// <summary>Hub settings from this run's environment (HF_HOME, HF_ENDPOINT, HF_HUB_OFFLINE, …), warnings to standard error.</summary>
    public HubOptions Hub(bool allowPickle = false, string? cacheDir = null, IReadOnlyList<string>? files = null) => new()
    {
        Environment = Environment, Logger = Warnings, AllowPickleWeights = allowPickle, CacheDir = cacheDir, Files = files,
    };

    /// <summary>
    /// Standard output as bytes, for binary formats: the stream under <see cref="Out"/> when it has one (flushed first so
    /// text and bytes keep their order); otherwise a buffer whose contents go to <see cref="Out"/> as UTF-8 text on Flush.
    /// Not to be disposed: it is the invocation's.
    /// </summary>
    public Stream OutputStream()
    {
        if (Out is StreamWriter writer)
        {
            writer.Flush();
            return writer.BaseStream;
        }
        return new TextSpool(Out);
    }

    sealed class TextSpool(TextWriter target) : MemoryStream
    {
        public override void Flush()
        {
            target.Write(Encoding.UTF8.GetString(GetBuffer(), 0, (int)Length));
            SetLength(0);
        }
    }
}
