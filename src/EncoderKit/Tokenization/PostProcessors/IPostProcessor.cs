namespace EncoderKit.Tokenization.PostProcessors;

/// <summary>Adds special tokens and type ids around the encoded sequence(s) and joins a pair.</summary>
internal interface IPostProcessor
{
    /// <summary>How many tokens <see cref="Process"/> adds (truncation leaves room for them).</summary>
    int AddedTokens(bool isPair);

    Encoding Process(Encoding first, Encoding? second, bool addSpecialTokens);
}

/// <summary>What <c>tokenizers</c> does without a post-processor: type ids 0 and 1, sequences joined.</summary>
internal static class DefaultPostProcessing
{
    public static Encoding Process(Encoding first, Encoding? second)
    {
        first = Sequence(first, 0, 0);
        return second is null ? first : first.MergeWith(Sequence(second, 1, 1));
    }

    /// <summary>
    /// Sets every type id to <paramref name="typeId"/> and marks the whole encoding as sequence <paramref name="sequence"/>;
    /// its overflowing windows too, so that each window reads like a complete encoding.
    /// </summary>
    public static Encoding Sequence(Encoding e, int typeId, int sequence) =>
        e.With(typeIds: Enumerable.Repeat(typeId, e.Length).ToArray(),
            sequenceRanges: new Dictionary<int, (int, int)> { [sequence] = (0, e.Length) },
            overflowing: e.Overflowing.Count == 0 ? null : e.Overflowing.Select(o => Sequence(o, typeId, sequence)).ToList());

    /// <summary>An encoding of special tokens: no word, offsets (0, 0), special mask 1.</summary>
    public static Encoding Special(IReadOnlyList<int> ids, IReadOnlyList<string> tokens, int typeId)
    {
        int n = ids.Count;
        return new Encoding([.. ids], Enumerable.Repeat(typeId, n).ToArray(), [.. tokens], new int?[n], new (int, int)[n],
            Enumerable.Repeat(1, n).ToArray(), Enumerable.Repeat(1, n).ToArray(), [], new Dictionary<int, (int, int)>(), false);
    }
}

/// <summary>{"type": "Sequence", "processors": [...]}: each in turn on the result of the previous.</summary>
internal sealed class PostProcessorSequence(IReadOnlyList<IPostProcessor> processors) : IPostProcessor
{
    public IReadOnlyList<IPostProcessor> Processors { get; } = processors;

    public int AddedTokens(bool isPair) => Processors.Sum(p => p.AddedTokens(isPair));

    public Encoding Process(Encoding first, Encoding? second, bool addSpecialTokens)
    {
        // As tokenizers' Sequence: the pair is joined by the first processor, later ones see one encoding.
        Encoding result = first;
        Encoding? pair = second;
        foreach (var p in Processors)
        {
            result = p.Process(result, pair, addSpecialTokens);
            pair = null;
        }
        return Processors.Count == 0 ? DefaultPostProcessing.Process(first, second) : result;
    }
}
