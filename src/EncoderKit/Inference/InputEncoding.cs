using EncoderKit.Tokenization;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Inference;

/// <summary>How the pipelines tokenize an input: whole, or cut to the model's limit with a warning, or refused.</summary>
static class InputEncoding
{
    public static Encoding Encode(EncoderModel model, ILogger log, string text, string? pair, OverlongInput overlong)
    {
        Tokenizer tokenizer = model.Tokenizer;
        Encoding full = tokenizer.Encode(text, pair);
        if (model.MaxInputTokens is not int limit || full.Length <= limit) return full;
        if (overlong == OverlongInput.Error)
            throw new EncoderKitException(ErrorKind.BadInput, $"the text is {full.Length} tokens, more than the model's {limit}", field: "text");
        log.LogWarning("The text is {Tokens} tokens, more than the model's {Limit}; it was truncated to {Limit} tokens.", full.Length, limit, limit);
        return tokenizer.Encode(text, pair, EncodeOptions.Truncate(limit));
    }
}
