using EncoderKit.Tokenization;

namespace EncoderKit.Inference;

/// <summary>One answer of the question-answering pipeline: a span of the original context.</summary>
/// <param name="Score">The span's start probability times its end probability, within its window.</param>
/// <param name="Start">UTF-16 index of the answer's first character in the context; 0 for the impossible answer.</param>
/// <param name="End">UTF-16 index just past its last character; 0 for the impossible answer.</param>
/// <param name="Text">The context's characters from start to end; "" for the impossible answer.</param>
public sealed record Answer(double Score, int Start, int End, string Text);

/// <summary>A span of tokens in one window, with its score.</summary>
public readonly record struct TokenSpan(int Start, int End, double Score);

/// <summary>
/// The question-answering pipeline's choice of spans in one window, as a pure function over its logits: transformers'
/// <c>select_starts_ends</c> and <c>decode_spans</c>.
/// </summary>
public static class AnswerSpans
{
    /// <summary>
    /// A question's answers from all windows of its context, as the pipeline's <c>postprocess</c>: each window's best
    /// spans as character spans of the context; a span whose text (ignoring case) is already an answer adds its score
    /// to that answer instead of repeating it (as current transformers merges them: overlapping windows find the same
    /// answer twice); then the impossible answer (the lowest of the windows' no-answer scores) when asked for; all
    /// ranked together best first (equal scores in the order found) and cut to top-k.
    /// </summary>
    /// <param name="windows">The (question, context) pair's encodings, the context as the second sequence.</param>
    /// <param name="logits">Each window's start and end logits, one per token.</param>
    /// <param name="clsTokenId">The [CLS] token, whose position holds the no-answer score; null when the tokenizer has none.</param>
    public static List<Answer> FromWindows(string context, IReadOnlyList<Encoding> windows, IReadOnlyList<(float[] Start, float[] End)> logits, int? clsTokenId,
        AnswerOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        var answers = new List<Answer>();
        double noAnswer = 1_000_000;   // the pipeline's start: any window's score is lower
        for (int w = 0; w < windows.Count; w++)
        {
            Encoding window = windows[w];
            bool[] allowed = [.. Enumerable.Range(0, window.Length).Select(i => window.SequenceIds[i] == 1 || (clsTokenId is not null && window.Ids[i] == clsTokenId))];
            List<TokenSpan> spans = Best(logits[w].Start, logits[w].End, allowed, options.TopK, options.MaxAnswerLength, out double windowNoAnswer);
            noAnswer = Math.Min(noAnswer, windowNoAnswer);
            foreach (TokenSpan span in spans)
            {
                var (start, end) = Characters(span, window.WordIds, window.SequenceIds, window.Offsets, options.AlignToWords);
                string text = context[start..end], key = text.ToLowerInvariant();
                int same = answers.FindIndex(a => a.Text.ToLowerInvariant() == key);
                if (same >= 0) answers[same] = answers[same] with { Score = answers[same].Score + span.Score };
                else answers.Add(new Answer(span.Score, start, end, text));
            }
        }
        if (options.HandleImpossibleAnswer) answers.Add(new Answer(noAnswer, 0, 0, ""));
        return [.. answers.OrderByDescending(a => a.Score).Take(options.TopK)];
    }

    /// <summary>
    /// Softmax over the window's start logits and, apart, over its end logits, with every position that may not hold an
    /// answer pushed to -10000 first (so it takes no probability); then the best spans by start × end probability.
    /// Position 0 (the [CLS] token) stays in the softmax, since its probability is the "no answer" score, but holds no
    /// span itself. A span starts and ends at allowed positions, ends no earlier than it starts, and is at most
    /// <paramref name="maxAnswerLength"/> tokens long.
    /// </summary>
    /// <param name="allowed">Per position: whether an answer may start or end there (context tokens, and [CLS]).</param>
    /// <param name="topK">How many spans at most, best first (equal scores: earlier start, then earlier end).</param>
    /// <param name="noAnswerScore">Start × end probability at position 0: the impossible answer's score.</param>
    public static List<TokenSpan> Best(ReadOnlySpan<float> startLogits, ReadOnlySpan<float> endLogits, IReadOnlyList<bool> allowed, int topK, int maxAnswerLength,
        out double noAnswerScore)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        int length = startLogits.Length;
        if (endLogits.Length != length || allowed.Count != length)
            throw new ArgumentException($"{length} start logits, {endLogits.Length} end logits and {allowed.Count} allowed flags: they must be as many");
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAnswerLength, 1);
        double[] start = MaskedSoftmax(startLogits, allowed), end = MaskedSoftmax(endLogits, allowed);
        noAnswerScore = length == 0 ? 0 : start[0] * end[0];
        if (length > 0) start[0] = end[0] = 0;

        var spans = new List<TokenSpan>();
        for (int s = 0; s < length; s++)
        {
            if (!allowed[s]) continue;
            for (int e = s; e < Math.Min(length, s + maxAnswerLength); e++)
                if (allowed[e]) spans.Add(new TokenSpan(s, e, start[s] * end[e]));
        }
        return [.. spans.OrderByDescending(x => x.Score).Take(topK)];   // stable: ties keep (start, end) order
    }

    static double[] MaskedSoftmax(ReadOnlySpan<float> logits, IReadOnlyList<bool> allowed)
    {
        var masked = new float[logits.Length];
        for (int i = 0; i < masked.Length; i++) masked[i] = allowed[i] ? logits[i] : -10000f;
        return Probabilities.Softmax(masked);
    }

    /// <summary>
    /// The characters a token span covers, as the pipeline's <c>get_indices</c>: with <paramref name="alignToWords"/>, from
    /// the start of the start token's word to the end of the end token's word (only tokens of the context in this window
    /// count); without it, or where a token belongs to no word, the tokens' own offsets.
    /// </summary>
    /// <param name="wordIds">Per token of the window, its word in its sequence; null for special tokens.</param>
    /// <param name="sequenceIds">Per token, which sequence it came from (the context is 1); null for special tokens.</param>
    /// <param name="offsets">Per token, its UTF-16 range in its own sequence's text.</param>
    public static (int Start, int End) Characters(TokenSpan span, IReadOnlyList<int?> wordIds, IReadOnlyList<int?> sequenceIds, IReadOnlyList<(int Start, int End)> offsets,
        bool alignToWords = true, int contextSequence = 1)
    {
        ArgumentNullException.ThrowIfNull(wordIds);
        ArgumentNullException.ThrowIfNull(sequenceIds);
        ArgumentNullException.ThrowIfNull(offsets);
        int?[] words = [wordIds[span.Start], wordIds[span.End]];
        if (!alignToWords || words[0] is null || words[1] is null) return (offsets[span.Start].Start, offsets[span.End].End);
        IEnumerable<int> TokensOf(int word) => Enumerable.Range(0, wordIds.Count).Where(i => wordIds[i] == word && sequenceIds[i] == contextSequence);
        return (offsets[TokensOf(words[0]!.Value).First()].Start, offsets[TokensOf(words[1]!.Value).Last()].End);
    }
}
