using System.CommandLine;
using System.Globalization;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit embed --model M [--prompt NAME | --prefix TEXT] [--dim N] [--format jsonl|npy|safetensors]</c>:
/// texts (arguments, lines, or JSON lines from a file or standard input; JSON lines may carry input_ids instead) in,
/// one embedding per input out, in input order. A progress bar shows on a terminal for inputs longer than a batch; standard output carries only results.
/// </summary>
static class EmbedCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new SentenceModelOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts to embed; without any, each line of --input (or standard input) is one text", Arity = ArgumentArity.ZeroOrMore };
        var input = new Option<string?>("--input", "-i") { Description = "Read texts from this file (- for standard input)" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file (whole or not at all) instead of standard output" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON object per line: {\"text\": ...}, or {\"input_ids\": [...], \"token_type_ids\": [...]} already tokenized" };
        var format = new Option<string>("--format") { Description = "jsonl ({\"embedding\": [...]} per line), npy or safetensors", DefaultValueFactory = _ => "jsonl" };
        var prompt = new Option<string?>("--prompt") { Description = "Name of one of the model's prompts (config_sentence_transformers.json)" };
        var prefix = new Option<string?>("--prefix") { Description = "A literal prompt put before every text, e.g. \"search_query: \"" };
        var precision = new Option<string>("--precision") { Description = "float32, int8, uint8, binary or ubinary (as sentence-transformers quantizes)", DefaultValueFactory = _ => "float32" };
        var command = new Command("embed", "Embed texts with a sentence-transformers model (or a plain encoder, mean-pooled).")
        {
            texts, input, output, jsonl, format, prompt, prefix, precision,
        };
        model.AddTo(command);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string formatName = parsed.GetValue(format)!;
            if (!EmbeddingOutput.Formats.Contains(formatName))
                throw new EncoderKitException(ErrorKind.BadInput, $"unknown format '{formatName}' (use {string.Join(", ", EmbeddingOutput.Formats)})", field: "--format");
            if (!EmbeddingQuantizer.TryParse(parsed.GetValue(precision)!, out EmbeddingPrecision wanted))
                throw new EncoderKitException(ErrorKind.BadInput, $"unknown precision '{parsed.GetValue(precision)}' (use float32, int8, uint8, binary or ubinary)", field: "--precision");
            if (parsed.GetValue(prompt) is not null && parsed.GetValue(prefix) is not null)
                throw new EncoderKitException(ErrorKind.BadInput, "give --prompt (a name) or --prefix (a text), not both", field: "--prefix");
            List<InputText> inputs = TextInput.Read(cli, parsed.GetValue(texts) ?? [], parsed.GetValue(input), parsed.GetValue(jsonl));

            bool tokenized = inputs.Count > 0 && inputs[0].Ids is not null;
            if (inputs.FirstOrDefault(i => (i.Ids is not null) != tokenized) is { Line: > 0 } mixed)
                throw new EncoderKitException(ErrorKind.BadInput, "mixes texts and input_ids; give one kind", field: $"line {mixed.Line}");
            if (tokenized && (parsed.GetValue(prompt) is not null || parsed.GetValue(prefix) is not null))
                throw new EncoderKitException(ErrorKind.BadInput, "input_ids are already tokenized: a prompt cannot be added to them", field: "--prompt");

            using SentenceEncoder encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            EmbedOptions options = model.Embed(parsed);
            int width = encoder.QuantizedWidth(wanted, options);
            float[][] embeddings = EncodeProgressView.Run(cli, "embedding", inputs.Count, encoder.BatchSize, progress => tokenized
                ? encoder.EncodeTokens(inputs.Select(t => new TokenizedText(t.Ids!, t.TypeIds)).ToArray(), 0, options with { Progress = progress }, cancellationToken)
                : encoder.Encode(inputs.Select(t => t.Text).ToArray(), parsed.GetValue(prompt), parsed.GetValue(prefix),
                    options with { Progress = progress }, cancellationToken));

            EmbeddingRows rows = wanted == EmbeddingPrecision.Float32 ? new EmbeddingRows(embeddings, width) : new EmbeddingRows(encoder.Quantize(embeddings, wanted), width);
            var metadata = new Dictionary<string, string>
            {
                ["model"] = encoder.ModelId,
                ["precision"] = EmbeddingQuantizer.Name(wanted),
                ["count"] = rows.Count.ToString(CultureInfo.InvariantCulture),
                ["normalized"] = (options.Normalize ?? encoder.NormalizesByDefault) ? "true" : "false",
            };
            if (encoder.ResolvePrompt(parsed.GetValue(prompt), parsed.GetValue(prefix)) is { Length: > 0 } used) metadata["prompt"] = used;
            EmbeddingOutput.Write(cli, rows, formatName, parsed.GetValue(output), metadata);
            return 0;
        });
        return command;
    }
}
