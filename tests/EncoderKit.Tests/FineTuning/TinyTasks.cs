using System.Globalization;
using System.Text.Json;
using EncoderKit.IO;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// A tiny random BERT base model (hidden 32, 2 layers, a WordPiece vocabulary of whole words the test writes) and the
/// synthetic tasks the fine-tuning tests learn: a labelling rule over real words, tags over known word lists, answers at
/// known spans. Data files are JSONL written by the test from a seeded generator.
/// </summary>
static class TinyTasks
{
    public static readonly string[] Positive = ["good", "great", "fine", "nice", "happy", "lovely"];
    public static readonly string[] Negative = ["bad", "awful", "poor", "sad", "ugly", "boring"];
    public static readonly string[] Fillers = ["the", "movie", "was", "a", "day", "it", "very", "and", "film", "plot", "this", "so", "of", "is", "which", "what"];
    public static readonly string[] People = ["alice", "bob", "carol", "dave", "erin"];
    public static readonly string[] Places = ["paris", "rome", "oslo", "lima", "york", "new"];
    public static readonly string[] Colors = ["red", "blue", "green", "black", "white"];

    public static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    public static string[] Vocabulary => [.. Specials, .. Positive, .. Negative, .. Fillers, .. People, .. Places, .. Colors, "?", ".", "color"];

    /// <summary>Writes the base model (config, random weights, vocab.txt) into <paramref name="folder"/>.</summary>
    /// <param name="vocabulary">Its whole-word vocabulary, <see cref="Specials"/> first; <see cref="Vocabulary"/> by default.</param>
    public static string BaseModel(string folder, double dropout = 0.1, int seed = 3, IReadOnlyList<string>? vocabulary = null)
    {
        vocabulary ??= Vocabulary;
        Directory.CreateDirectory(folder);
        string config = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "BertForMaskedLM" }, ["model_type"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 2,
            ["num_attention_heads"] = 2, ["intermediate_size"] = 64, ["max_position_embeddings"] = 128, ["type_vocab_size"] = 2,
            ["vocab_size"] = vocabulary.Count, ["hidden_act"] = "gelu", ["hidden_dropout_prob"] = dropout, ["attention_probs_dropout_prob"] = dropout,
            ["initializer_range"] = 0.02, ["layer_norm_eps"] = 1e-12, ["pad_token_id"] = 0,
        });
        string file = Path.Combine(folder, "config.json");
        using (EncoderModel model = EncoderModel.CreateRandom(ConfigJson.Parse(config, file), seed: seed)) model.Save(folder);
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), vocabulary);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"do_lower_case": true, "model_max_length": 128}""");
        return folder;
    }

    static string Pick(Random random, string[] words) => words[random.Next(words.Length)];

    static List<string> FillerWords(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => Pick(random, Fillers))];

    /// <summary>Sentiment: one positive or negative word among fillers; the label says which ("pos", "neg").</summary>
    public static void WriteSentiment(string path, int count, int seed)
    {
        var random = new Random(seed);
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(_ =>
        {
            bool positive = random.Next(2) == 0;
            List<string> words = FillerWords(random, 5);
            words.Insert(random.Next(words.Count + 1), Pick(random, positive ? Positive : Negative));
            return JsonSerializer.Serialize(new { text = string.Join(' ', words), label = positive ? "pos" : "neg" });
        }));
    }

    /// <summary>Entities: people (B-PER) and places (B-LOC; "new york" B-LOC I-LOC) among fillers (O).</summary>
    public static void WriteEntities(string path, int count, int seed)
    {
        var random = new Random(seed);
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(_ =>
        {
            var tokens = new List<string>();
            var tags = new List<string>();
            for (int i = 0; i < 7; i++)
            {
                switch (random.Next(4))
                {
                    case 0: tokens.Add(Pick(random, People)); tags.Add("B-PER"); break;
                    case 1:
                        if (random.Next(2) == 0) { tokens.AddRange(["new", "york"]); tags.AddRange(["B-LOC", "I-LOC"]); }
                        else { tokens.Add(Pick(random, Places[..4])); tags.Add("B-LOC"); }
                        break;
                    default: tokens.Add(Pick(random, Fillers)); tags.Add("O"); break;
                }
            }
            return JsonSerializer.Serialize(new { tokens, ner_tags = tags });
        }));
    }

    /// <summary>QA: "what color ?" over a context of fillers holding one color word, the answer.</summary>
    public static void WriteColors(string path, int count, int seed)
    {
        var random = new Random(seed);
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i =>
        {
            List<string> words = FillerWords(random, 8 + random.Next(8));
            int at = random.Next(words.Count + 1);
            string color = Pick(random, Colors);
            words.Insert(at, color);
            string context = string.Join(' ', words);
            int start = string.Join(' ', words.Take(at)).Length + (at > 0 ? 1 : 0);
            return JsonSerializer.Serialize(new
            {
                id = i.ToString(CultureInfo.InvariantCulture), question = "what color ?", context,
                answers = new { text = new[] { color }, answer_start = new[] { start } },
            });
        }));
    }
}
