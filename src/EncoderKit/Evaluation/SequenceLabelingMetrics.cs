namespace EncoderKit.Evaluation;

/// <summary>One entity: its type and the first and last position (inclusive) of its tags.</summary>
public sealed record Entity(string Type, int Start, int End);

/// <summary>Entity-level precision, recall and F1 over all types (micro-averaged), and token accuracy.</summary>
public sealed record EntityScores(double Precision, double Recall, double F1, double Accuracy);

/// <summary>
/// Entity-level scores of tag sequences as seqeval computes them in its default mode (conlleval's chunking): a chunk
/// starts at B- or S-, at an I-/E- whose type differs from the previous tag's or that follows O; it ends before B-, S-,
/// O or a change of type. So an I- without a B- still starts an entity, as conlleval counts it.
/// </summary>
public static class SequenceLabelingMetrics
{
    /// <summary>The entities of one tag sequence (seqeval's get_entities), in order.</summary>
    public static IReadOnlyList<Entity> Entities(IReadOnlyList<string> tags)
    {
        var entities = new List<Entity>();
        char previousTag = 'O';
        string previousType = "";
        int begin = 0;
        for (int i = 0; i <= tags.Count; i++)
        {
            string chunk = i < tags.Count ? tags[i] : "O";
            char tag = chunk.Length > 0 ? chunk[0] : 'O';
            string rest = chunk.Length > 1 ? chunk[1..] : "";
            int dash = rest.IndexOf('-');
            string type = (dash >= 0 ? rest[(dash + 1)..] : rest) is { Length: > 0 } t ? t : "_";
            if (EndsChunk(previousTag, tag, previousType, type)) entities.Add(new Entity(previousType, begin, i - 1));
            if (StartsChunk(previousTag, tag, previousType, type)) begin = i;
            previousTag = tag;
            previousType = type;
        }
        return entities;
    }

    /// <summary>
    /// Micro-averaged entity scores over sentences (seqeval's precision_score, recall_score, f1_score; 0 where a
    /// denominator is 0, its zero_division default) and token accuracy (accuracy_score).
    /// </summary>
    public static EntityScores Score(IReadOnlyList<IReadOnlyList<string>> truth, IReadOnlyList<IReadOnlyList<string>> predicted)
    {
        if (truth.Count != predicted.Count) throw new ArgumentException($"{truth.Count} true sequences but {predicted.Count} predicted", nameof(predicted));
        var trueEntities = new HashSet<(int, Entity)>();
        var predictedEntities = new HashSet<(int, Entity)>();
        long tokens = 0, correctTokens = 0;
        for (int s = 0; s < truth.Count; s++)
        {
            if (truth[s].Count != predicted[s].Count)
                throw new ArgumentException($"sequence {s}: {truth[s].Count} true tags but {predicted[s].Count} predicted", nameof(predicted));
            foreach (Entity e in Entities(truth[s])) trueEntities.Add((s, e));
            foreach (Entity e in Entities(predicted[s])) predictedEntities.Add((s, e));
            for (int i = 0; i < truth[s].Count; i++)
            {
                tokens++;
                if (truth[s][i] == predicted[s][i]) correctTokens++;
            }
        }
        int correct = trueEntities.Count(predictedEntities.Contains);
        double precision = predictedEntities.Count == 0 ? 0 : (double)correct / predictedEntities.Count;
        double recall = trueEntities.Count == 0 ? 0 : (double)correct / trueEntities.Count;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new EntityScores(precision, recall, f1, tokens == 0 ? 0 : (double)correctTokens / tokens);
    }

    static bool EndsChunk(char previousTag, char tag, string previousType, string type) =>
        previousTag is 'E' or 'S'
        || (previousTag is 'B' or 'I' && tag is 'B' or 'S' or 'O')
        || (previousTag is not ('O' or '.') && previousType != type);

    static bool StartsChunk(char previousTag, char tag, string previousType, string type) =>
        tag is 'B' or 'S'
        || (previousTag is 'E' or 'S' or 'O' && tag is 'E' or 'I')
        || (tag is not ('O' or '.') && previousType != type);
}
