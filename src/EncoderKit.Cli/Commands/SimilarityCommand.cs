using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit similarity</c>: a similarity matrix (every text against every text, or against the texts of
/// --against), or with --pairs one score per pair (lines "text1&lt;TAB&gt;text2", or JSON lines {"text", "text_pair"}).
/// The function is the model's similarity_fn_name unless --function says otherwise.
/// </summary>
static class SimilarityCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new SentenceModelOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts; without any, each line of --input (or standard input) is one", Arity = ArgumentArity.ZeroOrMore };
        var input = new Option<string?>("--input", "-i") { Description = "Read texts from this file (- for standard input)" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON object {\"text\": ..., \"text_pair\": ...} per line" };
        var pairs = new Option<bool>("--pairs") { Description = "Score pairs: consecutive arguments, tab-separated lines, or text/text_pair in JSON lines" };
        var against = new Option<string?>("--against") { Description = "Score every text against each line of this file (a rectangular matrix)" };
        var function = new Option<string?>("--function") { Description = "cosine, dot, euclidean or manhattan (default: the model's)" };
        var prompt = new Option<string?>("--prompt") { Description = "Name of one of the model's prompts, for the texts" };
        var prefix = new Option<string?>("--prefix") { Description = "A literal prompt before the texts" };
        var againstPrompt = new Option<string?>("--against-prompt") { Description = "Prompt name for the --against texts (default: as the texts)" };
        var againstPrefix = new Option<string?>("--against-prefix") { Description = "Literal prompt for the --against texts (default: as the texts)" };
        var json = new Option<bool>("--json") { Description = "Write {\"scores\": ...} as JSON instead of tab-separated numbers" };
        var command = new Command("similarity", "Similarity scores between texts: a matrix, or one score per pair.")
        {
            texts, input, jsonl, pairs, against, function, prompt, prefix, againstPrompt, againstPrefix, json,
        };
        model.AddTo(command);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            bool pairMode = parsed.GetValue(pairs);
            string? againstFile = parsed.GetValue(against);
            if (pairMode && againstFile is not null)
                throw new EncoderKitException(ErrorKind.BadInput, "--pairs scores pairs; --against makes a matrix: give one", field: "--against");
            string[] positional = parsed.GetValue(texts) ?? [];
            List<InputText> inputs = TextInput.Read(cli, positional, parsed.GetValue(input), parsed.GetValue(jsonl), tabPairs: pairMode && positional.Length == 0);
            if (pairMode && positional.Length > 0)
            {
                if (positional.Length % 2 != 0)
                    throw new EncoderKitException(ErrorKind.BadInput, $"--pairs needs an even number of texts, got {positional.Length}", field: "text");
                inputs = inputs.Chunk(2).Select(p => new InputText(p[0].Text, p[1].Text, p[0].Line)).ToList();
            }
            if (pairMode && inputs.FirstOrDefault(i => i.Pair is null) is { Line: > 0 } single)
                throw new EncoderKitException(ErrorKind.BadInput, "this pair has no second text (\"text_pair\")", field: $"line {single.Line}");
            List<InputText>? others = againstFile is null ? null : TextInput.Read(cli, [], againstFile, jsonl: false);

            using SentenceEncoder encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            SimilarityFunction fn = encoder.SimilarityFunction;
            if (parsed.GetValue(function) is { } name && !Similarity.TryParse(name, out fn))
                throw new EncoderKitException(ErrorKind.BadInput, $"unknown similarity function '{name}' (use cosine, dot, euclidean or manhattan)", field: "--function");
            EmbedOptions options = model.Embed(parsed);
            string? promptName = parsed.GetValue(prompt), literal = parsed.GetValue(prefix);
            float[][] Embed(IEnumerable<string> values, string? name, string? text) =>
                encoder.Encode(values.ToArray(), name, text, options, cancellationToken);

            TextWriter writer = cli.Out;
            if (pairMode)
            {
                float[] scores = Similarity.Pairwise(Embed(inputs.Select(i => i.Text), promptName, literal), Embed(inputs.Select(i => i.Pair!), promptName, literal), fn);
                if (parsed.GetValue(json)) writer.WriteLine(JsonSerializer.Serialize(new { function = Similarity.Name(fn), scores }));
                else foreach (float s in scores) writer.WriteLine(Format(s));
                return 0;
            }
            float[][] left = Embed(inputs.Select(i => i.Text), promptName, literal);
            float[][] right = others is null ? left
                : Embed(others.Select(i => i.Text), parsed.GetValue(againstPrompt) ?? promptName, parsed.GetValue(againstPrefix) ?? literal);
            float[][] matrix = Similarity.Matrix(left, right, fn);
            if (parsed.GetValue(json)) writer.WriteLine(JsonSerializer.Serialize(new { function = Similarity.Name(fn), scores = matrix }));
            else foreach (float[] row in matrix) writer.WriteLine(string.Join('\t', row.Select(Format)));
            return 0;
        });
        return command;
    }

    static string Format(float score) => score.ToString("0.0000", CultureInfo.InvariantCulture);
}
