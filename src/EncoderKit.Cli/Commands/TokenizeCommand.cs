using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EncoderKit.Hub;
using EncoderKit.Tokenization;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit tokenize`: text in, token ids, tokens and offsets out. Needs only the tokenizer files
/// (tokenizer.json, or vocab.txt, or a SentencePiece .model, with their config files); for a hub id only those are fetched.
/// </summary>
static class TokenizeCommand
{
    const int ChunkLines = 2048;

    public static Command Create(CliInvocation cli)
    {
        var model = new Option<string>("--model", "-m") { Description = "Folder with the tokenizer files, a tokenizer.json or SentencePiece .model file, or a hub id (org/name[@revision])", Required = true };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit of a hub id (default: main)" };
        var text = new Argument<string?>("text") { Description = "Text to tokenize; without it, each line of standard input is one text", Arity = ArgumentArity.ZeroOrOne };
        var pair = new Option<string?>("--pair") { Description = "Second text of a pair (with TEXT)" };
        var json = new Option<bool>("--json") { Description = "Write one JSON object {ids, tokens, offsets, type_ids} per text (offsets: UTF-16 [start, end))" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON object {\"text\": ..., \"text_pair\": ...} per input line; write one JSON object per line" };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate to at most N tokens, special tokens included (longest first)" };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "Do not add [CLS]/[SEP]/BOS..." };
        var command = new Command("tokenize", "Show the token ids, tokens and offsets a model's tokenizer gives a text.");
        command.Options.Add(model);
        command.Options.Add(revision);
        command.Arguments.Add(text);
        command.Options.Add(pair);
        command.Options.Add(json);
        command.Options.Add(jsonl);
        command.Options.Add(maxLength);
        command.Options.Add(noSpecial);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string path = parsed.GetValue(model)!;
            if (!File.Exists(path))
                path = await DownloadProgressView.ResolveAsync(cli, path, parsed.GetValue(revision), cli.Hub(files: ModelSource.TokenizerFiles), cancellationToken);
            var tokenizer = TokenizerPath.Load(path);
            int? max = parsed.GetValue(maxLength);
            if (max is <= 0) throw new EncoderKitException(ErrorKind.BadInput, $"must be a positive number, got {max}", field: "--max-length");
            var options = new EncodeOptions { MaxLength = max, AddSpecialTokens = !parsed.GetValue(noSpecial) };
            bool asJsonLines = parsed.GetValue(jsonl);
            bool asJson = parsed.GetValue(json) || asJsonLines;
            string? single = parsed.GetValue(text);
            if (asJsonLines && single is not null)
                throw new EncoderKitException(ErrorKind.BadInput, "--jsonl reads its texts from standard input; give no TEXT", field: "--jsonl");
            var writer = new Output(cli.Out, cli.Error, asJson);
            if (single is not null)
            {
                writer.Write(tokenizer.Encode(single, parsed.GetValue(pair), options), 1);
                return 0;
            }
            if (parsed.GetValue(pair) is not null)
                throw new EncoderKitException(ErrorKind.BadInput, "--pair needs TEXT", field: "--pair");
            TextReader stdin = cli.In;
            var chunk = new List<(string Text, string? Pair)>(ChunkLines);
            int lineNumber = 0, firstOfChunk = 1;
            void Flush()
            {
                var encodings = tokenizer.EncodeBatch(chunk, options);
                for (int i = 0; i < encodings.Count; i++) writer.Write(encodings[i], firstOfChunk + i);
                chunk.Clear();
                firstOfChunk = lineNumber + 1;
            }
            for (string? line; (line = stdin.ReadLine()) is not null;)
            {
                lineNumber++;
                chunk.Add(asJsonLines ? ParseJsonLine(line, lineNumber) : (line, null));
                if (chunk.Count == ChunkLines) Flush();
            }
            if (chunk.Count > 0) Flush();
            return 0;
        });
        return command;
    }

    static (string, string?) ParseJsonLine(string line, int lineNumber)
    {
        InputText input = TextInput.ParseJson(line, "stdin", lineNumber);
        if (input.Ids is not null)
            throw new EncoderKitException(ErrorKind.BadInput, "input_ids are already tokens: give \"text\"", "stdin", $"line {lineNumber}");
        return (input.Text, input.Pair);
    }

    sealed class Output(TextWriter writer, TextWriter error, bool json)
    {
        static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        readonly MemoryStream _buffer = new();

        public void Write(EncoderKit.Tokenization.Encoding e, int number)
        {
            if (e.Truncated) error.WriteLine($"encoderkit: text {number}: truncated to {e.Length} tokens");
            if (json) WriteJson(e);
            else WritePlain(e);
            writer.Flush();
        }

        void WriteJson(EncoderKit.Tokenization.Encoding e)
        {
            _buffer.SetLength(0);
            using (var w = new Utf8JsonWriter(_buffer, JsonOptions))
            {
                w.WriteStartObject();
                w.WriteStartArray("ids");
                foreach (int id in e.Ids) w.WriteNumberValue(id);
                w.WriteEndArray();
                w.WriteStartArray("tokens");
                foreach (string t in e.Tokens) w.WriteStringValue(t);
                w.WriteEndArray();
                w.WriteStartArray("offsets");
                foreach (var (s, end) in e.Offsets) { w.WriteStartArray(); w.WriteNumberValue(s); w.WriteNumberValue(end); w.WriteEndArray(); }
                w.WriteEndArray();
                w.WriteStartArray("type_ids");
                foreach (int t in e.TypeIds) w.WriteNumberValue(t);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            writer.Write(System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
            writer.Write('\n');
        }

        void WritePlain(EncoderKit.Tokenization.Encoding e)
        {
            writer.WriteLine($"{e.Length} tokens");
            for (int i = 0; i < e.Length; i++)
            {
                var (s, end) = e.Offsets[i];
                writer.WriteLine($"  {e.Ids[i],7}  {Printable(e.Tokens[i]),-20}  [{s}, {end})  type {e.TypeIds[i]}");
            }
        }

        /// <summary>Control chars and spaces shown as escapes, so a token's extent is visible.</summary>
        static string Printable(string token)
        {
            var b = new StringBuilder(token.Length);
            foreach (char c in token)
                b.Append(c switch { '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", ' ' => "␣", _ when char.IsControl(c) => $"\\u{(int)c:x4}", _ => c.ToString() });
            return b.ToString();
        }
    }
}
