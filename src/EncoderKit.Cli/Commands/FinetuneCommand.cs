using EncoderKit.Compute;
using System.CommandLine;
using EncoderKit.FineTuning;
using EncoderKit.Training;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit finetune --model M --task T --train F [--validation F] --output DIR</c>: a new task head on the base
/// model, trained on the data file; the output folder ends as a Hugging Face model folder (the best evaluated model when
/// there is validation data), with the run's checkpoints, train_log.jsonl and the curves beside it.
/// </summary>
static class FinetuneCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var task = new Option<string>("--task") { Description = "text-classification, multi-label, regression, token-classification, question-answering or multiple-choice", Required = true };
        var train = new Option<string>("--train") { Description = "Training data: .jsonl, .json (SQuAD), .csv, .tsv (GLUE), .parquet, .conll", Required = true };
        var validation = new Option<string?>("--validation") { Description = "Validation data, evaluated every --eval-steps (and at the end); the best model is kept" };
        var training = new TrainingRunCliOptions(defaultBatchSize: 8, defaultLearningRate: 5e-5);
        var maxLength = new Option<int?>("--max-length") { Description = "Most tokens per input (default 128; 384 for question-answering)" };
        var docStride = new Option<int>("--doc-stride") { Description = "Question answering: tokens shared by consecutive context windows", DefaultValueFactory = _ => 128 };
        var textColumn = new Option<string?>("--text-column") { Description = "Field of the text (default text; tokens for token classification; question for QA and multiple choice)" };
        var pairColumn = new Option<string?>("--text-pair-column") { Description = "Field of the second text of a pair (multiple choice: the choices, default choices)" };
        var labelColumn = new Option<string?>("--label-column") { Description = "Field of the label (default label; ner_tags for token classification)" };
        var command = new Command("finetune", "Fine-tune a model for a task on labelled data (a new task head on the base model)");
        model.AddTo(command);
        foreach (Option option in new Option[] { task, train, validation }.Concat(training.All).Concat([maxLength, docStride, textColumn, pairColumn, labelColumn]))
            command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            FineTuningTask chosen = FineTuningTasks.Parse(parsed.GetValue(task)!);
            ComputeOptions compute = model.Compute(parsed, cli);
            TrainingRunOptions options = training.Read(parsed, compute);   // before the model is fetched
            string outputFolder = options.OutputFolder;
            string folder = await DownloadProgressView.ResolveAsync(cli, parsed.GetValue(model.Model)!, parsed.GetValue(model.Revision), cli.Hub(), cancellationToken);
            var settings = new FineTuningSettings(folder, chosen, parsed.GetValue(train)!, options)
            {
                ValidationFile = parsed.GetValue(validation),
                Columns = new DataColumns(parsed.GetValue(textColumn), parsed.GetValue(pairColumn), parsed.GetValue(labelColumn)),
                Features = new FeatureOptions(parsed.GetValue(maxLength) ?? (chosen == FineTuningTask.QuestionAnswering ? 384 : 128), parsed.GetValue(docStride)),
                Compute = compute with { Dtype = ComputeDtype.Float32 },
                Resume = training.ReadResume(parsed),
            };
            TrainingSummary summary = await TrainingProgressView.RunAsync(cli, "fine-tuning", progress => FineTuner.RunAsync(settings, progress, cancellationToken));
            TrainingCurves.Write(Path.Combine(outputFolder, "train_log.jsonl"), TaskEvaluation.MainMetric(chosen));
            cli.Out.WriteLine(TrainingProgressView.Outcome(summary, TaskEvaluation.MainMetric(chosen)));
            return 0;
        });
        return command;
    }
}
