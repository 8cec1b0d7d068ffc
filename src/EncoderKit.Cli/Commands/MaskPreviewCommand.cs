using System.CommandLine;
using System.Text.Json;
using EncoderKit.Pretraining;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit mask-preview [--recipe R] [pretrain's options] [--count N]`: the first N training sequences of a run as
/// pretrain will see them (same packing, curriculum stage and masking draws), one JSON object per line: input_ids,
/// labels (-100 where not chosen), original_ids, word_ids (the word each token belongs to; null for special tokens
/// and padding), and next_sentence_label with --nsp. Lets a user check a recipe before spending compute on it.
/// </summary>
static class MaskPreviewCommand
{
    public static Command Create(CliInvocation cli)
    {
        var recipe = new PretrainCommand.RecipeOptions();
        var count = new Option<int>("--count", "-n") { Description = "Sequences to print", DefaultValueFactory = _ => 4 };
        var command = new Command("mask-preview", "Print the first masked training sequences of a pretrain recipe as JSON lines") { count };
        recipe.AddTo(command);
        command.SetAction((parsed, _) =>
        {
            int n = parsed.GetValue(count);
            if (n < 1) throw new EncoderKitException(ErrorKind.BadInput, $"{n} is not ≥ 1", field: "--count");
            PretrainRecipe loaded = recipe.Load(parsed);
            PretrainCommand.NoteUnverified(cli, loaded);
            using var data = new PretrainCommand.TrainingData(loaded);
            for (int i = 0; i < n; i++)
            {
                // Row i of the run: step i / batch, as the trainer draws them (batch sizes per curriculum stage).
                long step = 0;
                int row = i;
                while (row >= loaded.Curriculum.StageAt(step).BatchSize) row -= loaded.Curriculum.StageAt(step++).BatchSize;
                MaskedSequence masked = data.Next(loaded.Curriculum.StageAt(step).SeqLen, step, row);
                cli.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    input_ids = masked.InputIds,
                    labels = masked.Labels,
                    original_ids = masked.Packed.InputIds,
                    word_ids = WordIds(masked.Packed),
                    next_sentence_label = masked.Packed.NextSentenceLabel,
                }));
            }
            return Task.FromResult(0);
        });
        return command;
    }

    static int?[] WordIds(PackedSequence sequence)
    {
        var ids = new int?[sequence.Length];
        int word = -1;
        for (int i = 0; i < ids.Length; i++)
        {
            if (sequence.Special[i]) continue;
            if (sequence.WordStart[i] || i == 0 || sequence.Special[i - 1]) word++;
            ids[i] = word;
        }
        return ids;
    }
}
