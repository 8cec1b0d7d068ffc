using System.CommandLine;

namespace EncoderKit.Cli.Commands;

/// <summary>Every subcommand of <c>encoderkit</c>, in the order help lists them.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
        [
            FillMaskCommand.Create(), ForwardCommand.Create(), TokenizeCommand.Create(), EmbedCommand.Create(), SimilarityCommand.Create(),
            SearchCommand.Create(), DownloadCommand.Create(), CacheCommand.Create(),
        ];
}
