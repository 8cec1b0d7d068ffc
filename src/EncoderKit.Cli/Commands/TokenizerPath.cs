using EncoderKit.Tokenization;

namespace EncoderKit.Cli.Commands;

/// <summary>A tokenizer named on the command line: a folder, a tokenizer.json, or a SentencePiece .model file.</summary>
static class TokenizerPath
{
    public static Tokenizer Load(string path) =>
        !File.Exists(path) ? Tokenizer.FromFolder(path)
        : path.EndsWith(".model", StringComparison.OrdinalIgnoreCase) ? Tokenizer.FromSentencePiece(path)
        : Tokenizer.FromFile(path);
}
