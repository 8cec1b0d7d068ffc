namespace EncoderKit.Inference;

/// <summary>How token predictions become entities, as the token-classification pipeline's <c>aggregation_strategy</c>.</summary>
public enum AggregationStrategy
{
    /// <summary>Every token with its best label.</summary>
    None,
    /// <summary>Tokens with their best label, then adjacent tokens of one entity type grouped (B- starts a new group).</summary>
    Simple,
    /// <summary>Words take the label of their first token, then are grouped as by <see cref="Simple"/>.</summary>
    First,
    /// <summary>Words take the best label of their tokens' averaged scores, then are grouped.</summary>
    Average,
    /// <summary>Words take the label of their most confident token, then are grouped.</summary>
    Max,
}

/// <summary>
/// One answer of the token-classification pipeline. With <see cref="AggregationStrategy.None"/> it is one token:
/// <see cref="Entity"/> is its label and <see cref="Index"/> its position in the encoding; otherwise it is a group and
/// <see cref="Entity"/> is the group's type without its B-/I- prefix (the pipeline's <c>entity_group</c>).
/// </summary>
/// <param name="Start">UTF-16 index of the first character in the original text.</param>
/// <param name="End">UTF-16 index just past the last character in the original text.</param>
public sealed record TokenEntity(string Entity, double Score, string Word, int Start, int End, int? Index = null);

/// <summary>One token with its label probabilities, as the pipeline's <c>gather_pre_entities</c> keeps it.</summary>
/// <param name="Index">Position in the encoding (special tokens included).</param>
/// <param name="Word">The token as the vocabulary spells it ("##ing"), or the original text for an unknown token.</param>
/// <param name="Scores">Softmax over the labels, in label order.</param>
/// <param name="IsSubword">Whether the token continues the word of the token before it.</param>
public sealed record ScoredToken(int Index, string Word, double[] Scores, int Start, int End, bool IsSubword);

/// <summary>
/// The token-classification pipeline's post-processing as pure functions over scored tokens: transformers'
/// <c>TokenClassificationPipeline.gather_pre_entities</c>, <c>aggregate</c>, <c>group_entities</c> and
/// <c>aggregate_overlapping_entities</c>, step for step, so each is testable without a model.
/// </summary>
public static class TokenEntityGrouping
{
    /// <summary>
    /// Whether a token continues a word, as the pipeline decides it. A tokenizer whose model has a continuing-subword
    /// prefix (WordPiece's "##") knows: the token's spelling is longer than its text exactly when it carries the
    /// prefix. Any other tokenizer gets the pipeline's fallback: a token continues a word unless it starts the text or
    /// a space is just before it or at its start.
    /// </summary>
    /// <param name="text">The original text.</param>
    /// <param name="token">The token as the vocabulary spells it.</param>
    /// <param name="wordAware">Whether the tokenizer's model has a continuing-subword prefix.</param>
    public static bool IsSubword(string text, string token, int start, int end, bool wordAware)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(token);
        // Python compares lengths in code points.
        if (wordAware) return token.EnumerateRunes().Count() != text.AsSpan(start, end - start).ToString().EnumerateRunes().Count();
        return start > 0 && text[start - 1] != ' ' && (start >= text.Length || text[start] != ' ');
    }

    /// <summary>
    /// Entities from one encoding's scored tokens (special tokens already left out): one per token for
    /// <see cref="AggregationStrategy.None"/>; otherwise tokens (Simple) or words (First, Average, Max) grouped.
    /// </summary>
    /// <param name="labels">Label names in id order.</param>
    /// <param name="tokensToString">The tokenizer's <c>convert_tokens_to_string</c>, for a group's or a word's text.</param>
    public static List<TokenEntity> Aggregate(IReadOnlyList<ScoredToken> tokens, IReadOnlyList<string> labels, AggregationStrategy strategy,
        Func<IReadOnlyList<string>, string> tokensToString)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(tokensToString);
        List<TokenEntity> entities = strategy is AggregationStrategy.None or AggregationStrategy.Simple
            ? [.. tokens.Select(t =>
            {
                var (label, score) = Best(t.Scores, labels);
                return new TokenEntity(label, score, t.Word, t.Start, t.End, t.Index);
            })]
            : [.. Words(tokens).Select(word => AggregateWord(word, labels, strategy, tokensToString))];
        return strategy == AggregationStrategy.None ? entities : Group(entities, tokensToString);
    }

    /// <summary>Drops entities whose label (or group) is one of <paramref name="ignoreLabels"/>.</summary>
    public static List<TokenEntity> WithoutIgnored(IEnumerable<TokenEntity> entities, IReadOnlyCollection<string> ignoreLabels) =>
        [.. entities.Where(e => !ignoreLabels.Contains(e.Entity))];

    /// <summary>
    /// Entities found in overlapping windows of one text, merged as <c>aggregate_overlapping_entities</c>: by start;
    /// of entities starting inside the one kept so far, the longer wins, and on equal length the higher score.
    /// </summary>
    public static List<TokenEntity> MergeOverlapping(IReadOnlyList<TokenEntity> entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        var result = new List<TokenEntity>();
        if (entities.Count == 0) return result;
        var sorted = entities.OrderBy(e => e.Start).ToList();   // stable, as Python's sorted
        TokenEntity kept = sorted[0];
        foreach (TokenEntity entity in sorted)
        {
            if (kept.Start <= entity.Start && entity.Start < kept.End)
            {
                int length = entity.End - entity.Start, keptLength = kept.End - kept.Start;
                if (length > keptLength || (length == keptLength && entity.Score > kept.Score)) kept = entity;
            }
            else
            {
                result.Add(kept);
                kept = entity;
            }
        }
        result.Add(kept);
        return result;
    }

    /// <summary>The first best label and its score (numpy's argmax takes the first maximum).</summary>
    static (string Label, double Score) Best(double[] scores, IReadOnlyList<string> labels)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return (labels[best], scores[best]);
    }

    /// <summary>Tokens split into words: a word starts at every token that is not a subword.</summary>
    static IEnumerable<List<ScoredToken>> Words(IReadOnlyList<ScoredToken> tokens)
    {
        List<ScoredToken>? word = null;
        foreach (ScoredToken token in tokens)
        {
            if (word is not null && token.IsSubword)
            {
                word.Add(token);
                continue;
            }
            if (word is not null) yield return word;
            word = [token];
        }
        if (word is not null) yield return word;
    }

    static TokenEntity AggregateWord(List<ScoredToken> word, IReadOnlyList<string> labels, AggregationStrategy strategy, Func<IReadOnlyList<string>, string> tokensToString)
    {
        double[] scores = strategy switch
        {
            AggregationStrategy.First => word[0].Scores,
            AggregationStrategy.Max => word.Aggregate((best, t) => t.Scores.Max() > best.Scores.Max() ? t : best).Scores,   // max() keeps the first maximum
            AggregationStrategy.Average => [.. Enumerable.Range(0, labels.Count).Select(l => word.Average(t => t.Scores[l]))],
            _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "words are aggregated by first, average or max"),
        };
        var (label, score) = Best(scores, labels);
        return new TokenEntity(label, score, tokensToString([.. word.Select(t => t.Word)]), word[0].Start, word[^1].End);
    }

    /// <summary>
    /// Adjacent entities of one type become a group, unless the later one is tagged B-; a label without a B-/I- prefix
    /// continues a group of its own name. The group's score is its members' mean.
    /// </summary>
    static List<TokenEntity> Group(List<TokenEntity> entities, Func<IReadOnlyList<string>, string> tokensToString)
    {
        var groups = new List<TokenEntity>();
        var members = new List<TokenEntity>();
        foreach (TokenEntity entity in entities)
        {
            if (members.Count > 0)
            {
                var (begins, type) = Tag(entity.Entity);
                if (begins || type != Tag(members[^1].Entity).Type)
                {
                    groups.Add(GroupOf(members, tokensToString));
                    members.Clear();
                }
            }
            members.Add(entity);
        }
        if (members.Count > 0) groups.Add(GroupOf(members, tokensToString));
        return groups;
    }

    static (bool Begins, string Type) Tag(string label) =>
        label.StartsWith("B-", StringComparison.Ordinal) ? (true, label[2..])
        : label.StartsWith("I-", StringComparison.Ordinal) ? (false, label[2..])
        : (false, label);

    static TokenEntity GroupOf(List<TokenEntity> members, Func<IReadOnlyList<string>, string> tokensToString)
    {
        string label = members[0].Entity;
        int dash = label.IndexOf('-');
        return new TokenEntity(dash < 0 ? label : label[(dash + 1)..], members.Average(m => m.Score), tokensToString([.. members.Select(m => m.Word)]),
            members[0].Start, members[^1].End);
    }
}
