using System.CommandLine;
using EncoderKit.Inference;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit tag --model M [TEXT] [--input FILE [--jsonl]] [--aggregation S] [--ignore-labels L …] [--stride N]</c>:
/// token classification, one JSON line per text in input order, in the token-classification pipeline's shape: a list
/// of {entity, score, index, word, start, end} per token, or with an aggregation strategy of {entity_group, score,
/// word, start, end} per group; start and end count characters (code points) of the text, as Python does.
/// </summary>
static class TagCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var text = new Argument<string?>("text") { Description = "Text to tag; without it, each line of --input (or standard input) is one text", Arity = ArgumentArity.ZeroOrOne };
        var input = new Option<string?>("--input", "-i") { Description = "Read texts from this file, one per line (- for standard input)" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON object per line: {\"text\": ...}" };
        var aggregation = new Option<string>("--aggregation") { Description = "none, simple, first, average or max, as the pipeline's aggregation_strategy", DefaultValueFactory = _ => "none" };
        var ignore = new Option<string[]?>("--ignore-labels") { Description = "Labels (or entity groups) to leave out (default: O); give the option with no label to keep all; put TEXT before it", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = true };
        var stride = new Option<int?>("--stride") { Description = "Tag a text longer than the model takes in windows sharing this many tokens (needs an aggregation); without it such a text is an error" };
        var batchSize = new BatchSizeOption();
        var command = new Command("tag", "Tag tokens (named entities, parts of speech) with a token-classification model");
        model.AddTo(command);
        command.Arguments.Add(text);
        foreach (Option option in new Option[] { input, jsonl, aggregation, ignore, stride, batchSize.Option }) command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            AggregationStrategy strategy = parsed.GetValue(aggregation) switch
            {
                "none" => AggregationStrategy.None,
                "simple" => AggregationStrategy.Simple,
                "first" => AggregationStrategy.First,
                "average" => AggregationStrategy.Average,
                "max" => AggregationStrategy.Max,
                var other => throw new EncoderKitException(ErrorKind.BadInput, $"'{other}' is not one of none, simple, first, average, max", field: "--aggregation"),
            };
            string? single = parsed.GetValue(text);
            List<InputText> texts = TextInput.Read(cli, single is null ? [] : [single], parsed.GetValue(input), parsed.GetValue(jsonl));
            if (texts.Find(t => t.Ids is not null || t.Pair is not null) is { Line: > 0 } wrong)
                throw new EncoderKitException(ErrorKind.BadInput, "tag takes one text per line, not input_ids or pairs", parsed.GetValue(input) ?? "stdin", $"line {wrong.Line}");
            var limits = batchSize.Limits(parsed);
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var tagger = new TokenClassifier(encoder, cli.Warnings);
            var results = await tagger.TagAsync(texts.Select(t => t.Text).ToList(), strategy,
                parsed.GetResult(ignore) is null ? null : parsed.GetValue(ignore) ?? [], parsed.GetValue(stride), limits, cancellationToken);
            foreach (var (entities, t) in results.Zip(texts))
            {
                int At(int utf16) => PipelineJson.CodePoints(t.Text, utf16);
                cli.Out.WriteLine(strategy == AggregationStrategy.None
                    ? PipelineJson.Serialize(entities.Select(e => new { entity = e.Entity, score = e.Score, index = e.Index, word = e.Word, start = At(e.Start), end = At(e.End) }))
                    : PipelineJson.Serialize(entities.Select(e => new { entity_group = e.Entity, score = e.Score, word = e.Word, start = At(e.Start), end = At(e.End) })));
            }
            return 0;
        });
        return command;
    }
}
