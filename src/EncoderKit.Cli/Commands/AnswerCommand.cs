using System.CommandLine;
using EncoderKit.Inference;
using EncoderKit.IO;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit answer --model M --question Q (--context TEXT | --context-file F) [--top-k N] [--max-answer-len N]
/// [--doc-stride N] [--max-seq-len N] [--handle-impossible-answer] [--no-align-to-words]</c>: extractive question answering; without
/// --question, each line of --input (or standard input) is one JSON object {"question": …, "context": …}. One JSON
/// line per question in input order, in the question-answering pipeline's shape: {score, start, end, answer}, or a
/// list of them best first when --top-k is given; start and end count characters (code points) of the context.
/// </summary>
static class AnswerCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var question = new Option<string?>("--question", "-q") { Description = "The question; without it, read JSON lines {\"question\", \"context\"} from --input or standard input" };
        var context = new Option<string?>("--context", "-c") { Description = "The text that holds the answer" };
        var contextFile = new Option<string?>("--context-file") { Description = "Read the context from this file" };
        var input = new Option<string?>("--input", "-i") { Description = "Read {\"question\", \"context\"} JSON lines from this file (- for standard input)" };
        var topK = new Option<int?>("--top-k", "-k") { Description = "Answers per question, best first (default: the best one, printed as a single object)" };
        var maxAnswerLength = new Option<int>("--max-answer-len") { Description = "The longest answer, in tokens", DefaultValueFactory = _ => 15 };
        var docStride = new Option<int?>("--doc-stride") { Description = "Context tokens shared by consecutive windows of a long context (default: the smaller of 128 and half a window)" };
        var maxSequenceLength = new Option<int?>("--max-seq-len") { Description = "Tokens per window, question included (default: the smaller of 384 and the model's limit)" };
        var impossible = new Option<bool>("--handle-impossible-answer") { Description = "Also offer the empty answer (score from the [CLS] token)" };
        var tokensOnly = new Option<bool>("--no-align-to-words") { Description = "Answer with the tokens' own characters instead of widening to whole words (for text without spaces: Japanese, Chinese)" };
        var batchSize = new BatchSizeOption();
        var command = new Command("answer", "Answer questions from a context with an extractive question-answering model");
        model.AddTo(command);
        foreach (Option option in new Option[] { question, context, contextFile, input, topK, maxAnswerLength, docStride, maxSequenceLength, impossible, tokensOnly, batchSize.Option })
            command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            List<QuestionAndContext> questions = Questions(cli, parsed.GetValue(question), parsed.GetValue(context), parsed.GetValue(contextFile), parsed.GetValue(input));
            int? k = parsed.GetValue(topK);
            var options = new AnswerOptions(k ?? 1, parsed.GetValue(maxAnswerLength), parsed.GetValue(maxSequenceLength), parsed.GetValue(docStride), parsed.GetValue(impossible),
                !parsed.GetValue(tokensOnly));
            var limits = batchSize.Limits(parsed);
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var results = await new QuestionAnswerer(encoder).AnswerAsync(questions, options, limits, cancellationToken);
            foreach (var (answers, q) in results.Zip(questions))
            {
                var shaped = answers.Select(a => new { score = a.Score, start = PipelineJson.CodePoints(q.Context, a.Start), end = PipelineJson.CodePoints(q.Context, a.End), answer = a.Text }).ToList();
                cli.Out.WriteLine(k is null ? PipelineJson.Serialize(shaped[0]) : PipelineJson.Serialize(shaped));
            }
            return 0;
        });
        return command;
    }

    static List<QuestionAndContext> Questions(CliInvocation cli, string? question, string? context, string? contextFile, string? input)
    {
        if (question is null)
        {
            if (context is not null || contextFile is not null)
                throw new EncoderKitException(ErrorKind.BadInput, "a context goes with --question", field: "--question");
            return [.. TextInput.Lines(cli, input).Select(l =>
            {
                var line = JsonLines.ParseObject(l.Line, l.Source, l.Number);
                return new QuestionAndContext(PipelineJson.String(line, "question", l.Source, l.Number), PipelineJson.String(line, "context", l.Source, l.Number));
            })];
        }
        if (input is not null) throw new EncoderKitException(ErrorKind.BadInput, "give one question with --question, or JSON lines with --input, not both", field: "--input");
        if ((context is null) == (contextFile is null)) throw new EncoderKitException(ErrorKind.BadInput, "give the context with --context or --context-file (one of them)", field: "--context");
        if (contextFile is not null && !File.Exists(contextFile)) throw new EncoderKitException(ErrorKind.MissingFile, "no such context file", contextFile);
        return [new QuestionAndContext(question, context ?? File.ReadAllText(contextFile!))];
    }
}
