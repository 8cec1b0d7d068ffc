using System.CommandLine;

namespace EncoderKit.Cli.Commands;

/// <summary>Every subcommand of <c>encoderkit</c>, in the order help lists them, bound to one invocation's input and output.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All(CliInvocation cli) =>
        [
            FillMaskCommand.Create(cli), ClassifyCommand.Create(cli), TagCommand.Create(cli), AnswerCommand.Create(cli), RerankCommand.Create(cli),
            ChooseCommand.Create(cli), ForwardCommand.Create(cli), FinetuneCommand.Create(cli), TrainEmbeddingsCommand.Create(cli), TokenizeCommand.Create(cli), EmbedCommand.Create(cli),
            SimilarityCommand.Create(cli), SearchCommand.Create(cli), EvaluateCommand.Create(cli), ServeCommand.Create(cli), PrepareCorpusCommand.Create(cli),
            PretrainCommand.Create(cli), MaskPreviewCommand.Create(cli), AverageCommand.Create(cli), DownloadCommand.Create(cli), CacheCommand.Create(cli), EnvCommand.Create(cli),
        ];
}
