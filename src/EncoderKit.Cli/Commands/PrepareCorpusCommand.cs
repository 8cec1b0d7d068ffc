using System.CommandLine;
using System.Globalization;
using EncoderKit.Pretraining;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit prepare-corpus --tokenizer T --input FILE|DIR… --output DIR [--format lines|paragraphs|jsonl|parquet]
/// [--text-field text] [--word-segmenter tokenizer|mecab | --pre-segmented] [--mecab-dic DIR] [--shard-size TOKENS]
/// [--threads N]`: tokenizes a corpus once, on all cores, into the token shards pretrain memory-maps (format:
/// <see cref="CorpusManifest"/>). Run again after an interruption, it continues after the last complete shard.
/// </summary>
static class PrepareCorpusCommand
{
    public static Command Create(CliInvocation cli)
    {
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "Tokenizer folder, tokenizer.json or SentencePiece .model", Required = true };
        var input = new Option<string[]>("--input", "-i") { Description = "Input files or folders (their files, by name)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the shards and corpus.json", Required = true };
        var format = new Option<string>("--format")
        {
            Description = "lines (text, one document per line; also \"text\"), paragraphs (blank-line separated), jsonl or parquet", DefaultValueFactory = _ => "lines",
        };
        var textField = new Option<string>("--text-field") { Description = "The JSONL field or Parquet column holding the text", DefaultValueFactory = _ => "text" };
        var segmenter = new Option<string>("--word-segmenter")
        {
            Description = "Word units for whole-word masking: tokenizer (##, ▁, Ġ marks) or mecab (Japanese; libmecab2 with UniDic or IPAdic)", DefaultValueFactory = _ => "tokenizer",
        };
        var preSegmented = new Option<bool>("--pre-segmented")
        {
            Description = "The text marks its words with spaces (segmented offline, e.g. Japanese): the spaces are removed before tokenization and the words are whole-word masking's units",
        };
        var mecabDictionary = new Option<string?>("--mecab-dic") { Description = "MeCab dictionary folder (default: UniDic, else IPAdic, where Debian installs them)" };
        var shardSize = new Option<long>("--shard-size") { Description = "Tokens per shard", DefaultValueFactory = _ => 1L << 26 };
        var threads = new Option<int>("--threads") { Description = "Tokenizing threads (the shards are the same for any count)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("prepare-corpus", "Tokenize a text corpus once into token shards for pretrain")
        {
            tokenizer, input, output, format, textField, segmenter, preSegmented, mecabDictionary, shardSize, threads,
        };
        command.SetAction((parsed, cancellationToken) =>
        {
            var options = new CorpusPreparationOptions
            {
                Format = parsed.GetValue(format) switch
                {
                    "lines" or "text" => DocumentFormat.Lines,
                    "paragraphs" => DocumentFormat.Paragraphs,
                    "jsonl" => DocumentFormat.Jsonl,
                    "parquet" => DocumentFormat.Parquet,
                    var other => throw new EncoderKitException(ErrorKind.BadInput, $"unknown format \"{other}\" (lines, paragraphs, jsonl or parquet)", field: "--format"),
                },
                TextField = parsed.GetValue(textField)!,
                WordSegmentation = (parsed.GetValue(segmenter), parsed.GetValue(preSegmented)) switch
                {
                    ("tokenizer", false) => WordSegmentation.Tokenizer,
                    ("mecab", false) => WordSegmentation.Mecab,
                    ("tokenizer", true) => WordSegmentation.PreSegmented,
                    ("mecab", true) => throw new EncoderKitException(ErrorKind.BadInput, "a pre-segmented corpus brings its own words; drop --word-segmenter mecab", field: "--pre-segmented"),
                    var (other, _) => throw new EncoderKitException(ErrorKind.BadInput, $"unknown word segmenter \"{other}\" (tokenizer or mecab)", field: "--word-segmenter"),
                },
                MecabDictionary = parsed.GetValue(mecabDictionary),
                ShardTokens = parsed.GetValue(shardSize),
                Threads = parsed.GetValue(threads),
                TokenizerName = parsed.GetValue(tokenizer),
            };
            var loaded = TokenizerPath.Load(parsed.GetValue(tokenizer)!);
            var progress = new ProgressLine(cli);
            CorpusManifest manifest = CorpusPreparation.Prepare(loaded, parsed.GetValue(input)!, parsed.GetValue(output)!, options, progress, cancellationToken);
            progress.Finish();
            cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{manifest.Documents:N0} documents, {manifest.Tokens:N0} tokens in {manifest.Shards.Count} shards ({parsed.GetValue(output)})"));
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Documents, tokens and throughput on standard error, at most once a second (rewritten in place on a terminal).</summary>
    sealed class ProgressLine(CliInvocation cli) : IProgress<CorpusProgress>
    {
        TimeSpan? lastShown;
        string? last;

        public void Report(CorpusProgress value)
        {
            double seconds = Math.Max(value.Elapsed.TotalSeconds, 1e-3);
            last = string.Create(CultureInfo.InvariantCulture,
                $"prepare-corpus: {value.Documents:N0} documents, {value.Tokens:N0} tokens, {value.Tokens / seconds:N0} tokens/s, {value.Characters / seconds / 1e6:F2} M chars/s");
            if (lastShown is { } shown && value.Elapsed - shown < TimeSpan.FromSeconds(1)) return;
            lastShown = value.Elapsed;
            if (cli.ErrorIsTerminal) cli.Error.Write("\r" + last);
        }

        public void Finish()
        {
            if (last is null) return;
            if (cli.ErrorIsTerminal) cli.Error.WriteLine("\r" + last);
        }
    }
}
