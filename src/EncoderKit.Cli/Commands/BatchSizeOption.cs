using System.CommandLine;
using EncoderKit.Runtime;

namespace EncoderKit.Cli.Commands;

/// <summary>--batch-size of the pipeline commands: the most rows one forward pass takes (rows are sorted by length first).</summary>
sealed class BatchSizeOption
{
    public Option<int?> Option { get; } = new("--batch-size") { Description = "Most rows per forward pass (default: all in one)" };

    public BatchLimits Limits(ParseResult parsed) => parsed.GetValue(Option) is int rows
        ? rows < 1 ? throw new EncoderKitException(ErrorKind.BadInput, "the batch size must be at least 1", field: "--batch-size") : new BatchLimits(MaxRows: rows)
        : new BatchLimits();
}
