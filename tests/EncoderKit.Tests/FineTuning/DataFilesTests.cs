using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.FineTuning;
using EncoderKit.FineTuning.Data;
using EncoderKit.Tokenization;
using Parquet.Serialization;

namespace EncoderKit.Tests.FineTuning;

/// <summary>Each data format read into rows, and rows made into features as the transformers example scripts make them.</summary>
public sealed class DataFilesTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    static string Field(DataRow row, string name) => row.Fields[name]!.ToJsonString();

    [Fact]
    public async Task GlueTsvHasNoQuoting()
    {
        // SST-2's train.tsv: quotes are text (csv.QUOTE_NONE), so a field may start with one and hold an odd number.
        File.WriteAllText(folder.File("train.tsv"), "sentence\tlabel\n\"a quoted start\t1\nit 's \" odd\t0\n");
        var rows = await DataFiles.ReadAsync(folder.File("train.tsv"));
        Assert.Equal(["\"a quoted start", "it 's \" odd"], rows.Select(r => r.Text("sentence")));
        Assert.Equal(["1", "0"], rows.Select(r => r.Text("label")));
        Assert.Equal(["line 2", "line 3"], rows.Select(r => r.Place));
    }

    [Fact]
    public async Task CsvQuotesHoldSeparatorsQuotesAndNewlines()
    {
        File.WriteAllText(folder.File("train.csv"), "text,label\r\n\"one, two\",a\r\n\"say \"\"hi\"\"\nthere\",b\r\nplain,c\r\n");
        var rows = await DataFiles.ReadAsync(folder.File("train.csv"));
        Assert.Equal(["one, two", "say \"hi\"\nthere", "plain"], rows.Select(r => r.Text("text")));
        Assert.Equal(["line 2", "line 3", "line 5"], rows.Select(r => r.Place));   // the second record spans lines 3-4
        File.WriteAllText(folder.File("ragged.csv"), "text,label\nx,a,extra\n");
        var error = await Assert.ThrowsAsync<EncoderKitException>(() => DataFiles.ReadAsync(folder.File("ragged.csv")));
        Assert.Contains("line 2: 3 fields, but the header names 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SquadJsonIsOneRowPerQuestionWithAnswerLists()
    {
        File.WriteAllText(folder.File("dev.json"), """
            {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "Paris is big.",
              "qas": [{"id": "q1", "question": "Which?", "answers": [{"text": "Paris", "answer_start": 0}, {"text": "Paris", "answer_start": 0}]},
                      {"id": "q2", "question": "How?", "answers": [{"text": "big", "answer_start": 9}]}]}]}]}
            """);
        var rows = await DataFiles.ReadAsync(folder.File("dev.json"));
        Assert.Equal(2, rows.Count);
        Assert.Equal("\"q2\"", Field(rows[1], "id"));
        Assert.Equal("Paris is big.", rows[1].Text("context"));
        Assert.Equal("""{"text":["Paris","Paris"],"answer_start":[0,0]}""", Field(rows[0], "answers"));
        Assert.Equal("data[0].paragraphs[0].qas[1]", rows[1].Place);
    }

    [Fact]
    public async Task ConllTextIsSentencesOfWordsAndLastColumnTags()
    {
        File.WriteAllText(folder.File("train.conll"), "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n");
        var rows = await DataFiles.ReadAsync(folder.File("train.conll"));
        Assert.Equal(["EU", "rejects"], rows[0].Strings("tokens"));
        Assert.Equal(["B-PER", "I-PER"], rows[1].Strings("ner_tags"));
        Assert.Equal("line 6", rows[1].Place);
    }

    public sealed class ParquetRecord
    {
        public string Text { get; set; } = "";
        public long Label { get; set; }
        public List<string> Tokens { get; set; } = [];
    }

    [Fact]
    public async Task ParquetRowsCarryScalarsAndLists()
    {
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ParquetRecord { Text = "good film", Label = 1, Tokens = ["good", "film"] },
            new ParquetRecord { Text = "bad", Label = 0, Tokens = ["bad"] },
        }, folder.File("train.parquet"));
        var rows = await DataFiles.ReadAsync(folder.File("train.parquet"));
        Assert.Equal(["good film", "bad"], rows.Select(r => r.Text("Text")));
        Assert.Equal(["1", "0"], rows.Select(r => DataRow.ScalarText((JsonValue)r.Get("Label"))));
        Assert.Equal(["good", "film"], rows[0].Strings("Tokens"));
        Assert.Equal("row 2", rows[1].Place);
    }

    Tokenizer VocabTokenizer(params string[] extra)
    {
        File.WriteAllLines(folder.File("vocab.txt"), [.. TinyTasks.Vocabulary, .. extra]);
        return Tokenizer.FromVocab(folder.File("vocab.txt"), lowercase: true);
    }

    static DataRow Row(string json) => new("data.jsonl", "line 1", JsonNode.Parse(json)!.AsObject());

    [Fact]
    public void TagsGoToEachWordsFirstToken()
    {
        Tokenizer tokenizer = VocabTokenizer("##s");
        DataRow row = Row("""{"tokens": ["Alice", "films", "in", "Paris"], "ner_tags": ["B-PER", "O", "O", "B-LOC"]}""");
        IReadOnlyList<string> labels = TaskDataset.CollectLabels([row], FineTuningTask.TokenClassification, new DataColumns());
        Assert.Equal(["B-LOC", "B-PER", "O"], labels);
        TaskFeature feature = TaskDataset.Build([row], FineTuningTask.TokenClassification, new DataColumns(), labels, tokenizer, new FeatureOptions()).Features[0];
        // [CLS] alice film ##s [UNK] paris [SEP]
        Assert.Equal(["[CLS]", "alice", "film", "##s", "[UNK]", "paris", "[SEP]"], feature.Ids[0].Select(id => tokenizer.IdToToken(id)));
        Assert.Equal([-100L, 1, 2, -100, 2, 0, -100], feature.TokenLabels!);
    }

    [Fact]
    public void QuestionWindowsMarkTheAnswerOrTheClsToken()
    {
        Tokenizer tokenizer = VocabTokenizer();
        const string context = "the movie was very good and the film was red so it";   // 12 one-token words; "red" is word 9
        int start = context.IndexOf("red", StringComparison.Ordinal);
        DataRow row = Row(JsonSerializer.Serialize(new { id = "x", question = "what color ?", context, answers = new { text = new[] { "red" }, answer_start = new[] { start } } }));
        // 12 tokens: [CLS] + 3 question + [SEP] + 6 context + [SEP]; windows of 6 context tokens sharing 3: words 0-5, 3-8, 6-11.
        var data = TaskDataset.Build([row], FineTuningTask.QuestionAnswering, new DataColumns(), [], tokenizer, new FeatureOptions(12, 3));
        Assert.Equal(3, data.Features.Count);
        Assert.Equal([(0L, 0L), (0L, 0L), (8L, 8L)], data.Features.Select(f => f.Span));   // red: 5 + its place (3) in the third window
        Assert.Equal("red", tokenizer.IdToToken(data.Features[2].Ids[0][8]));
        Assert.Equal((start, start + 3), data.Features[2].ContextOffsets![8]);
        Assert.Null(data.Features[2].ContextOffsets![2]);   // a question token
        Assert.Equal(["red"], data.Questions[0].Answers);
    }
}
