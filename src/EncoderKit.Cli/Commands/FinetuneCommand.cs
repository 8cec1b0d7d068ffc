using EncoderKit.Compute;
using System.CommandLine;
using System.Globalization;
using EncoderKit.FineTuning;
using EncoderKit.Training;
using Spectre.Console;

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
        var output = new Option<string>("--output", "-o") { Description = "Folder for checkpoints, train_log.jsonl and the final model", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => 3 };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Optimizer steps in all (overrides --epochs)" };
        var learningRate = new Option<double>("--learning-rate") { Description = "Peak learning rate", DefaultValueFactory = _ => 5e-5 };
        var batchSize = new Option<int>("--batch-size") { Description = "Examples per micro-batch", DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--gradient-accumulation") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var warmupRatio = new Option<double>("--warmup-ratio") { Description = "Warmup as a fraction of all steps" };
        var warmupSteps = new Option<long?>("--warmup-steps") { Description = "Warmup steps (instead of --warmup-ratio)" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (not on biases and norms)" };
        var scheduler = new Option<string>("--scheduler") { Description = "linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup", DefaultValueFactory = _ => "linear" };
        var maxLength = new Option<int?>("--max-length") { Description = "Most tokens per input (default 128; 384 for question-answering)" };
        var docStride = new Option<int>("--doc-stride") { Description = "Question answering: tokens shared by consecutive context windows", DefaultValueFactory = _ => 128 };
        var seed = new Option<long>("--seed") { Description = "Seed of the head's initialisation, the data order and dropout", DefaultValueFactory = _ => 42 };
        var evalSteps = new Option<long?>("--eval-steps") { Description = "Evaluate every N steps (default: every epoch)" };
        var saveSteps = new Option<long>("--save-steps") { Description = "Write a checkpoint every N steps", DefaultValueFactory = _ => 500 };
        var saveLimit = new Option<int?>("--save-total-limit") { Description = "Checkpoints to keep, newest first (default: all)" };
        var patience = new Option<int?>("--early-stopping-patience") { Description = "Stop after N evaluations without improvement" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run: the latest checkpoint in --output, or the one named", Arity = ArgumentArity.ZeroOrOne };
        var textColumn = new Option<string?>("--text-column") { Description = "Field of the text (default text; tokens for token classification; question for QA and multiple choice)" };
        var pairColumn = new Option<string?>("--text-pair-column") { Description = "Field of the second text of a pair (multiple choice: the choices, default choices)" };
        var labelColumn = new Option<string?>("--label-column") { Description = "Field of the label (default label; ner_tags for token classification)" };
        var command = new Command("finetune", "Fine-tune a model for a task on labelled data (a new task head on the base model)");
        model.AddTo(command);
        foreach (Option option in new Option[] { task, train, validation, output, epochs, maxSteps, learningRate, batchSize, accumulation, warmupRatio, warmupSteps,
            weightDecay, scheduler, maxLength, docStride, seed, evalSteps, saveSteps, saveLimit, patience, resume, textColumn, pairColumn, labelColumn })
            command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            FineTuningTask chosen = FineTuningTasks.Parse(parsed.GetValue(task)!);
            string outputFolder = parsed.GetValue(output)!;
            var options = new TrainingRunOptions(outputFolder)
            {
                Epochs = parsed.GetValue(epochs), MaxSteps = parsed.GetValue(maxSteps), LearningRate = parsed.GetValue(learningRate),
                BatchSize = parsed.GetValue(batchSize), GradientAccumulation = parsed.GetValue(accumulation),
                WarmupRatio = parsed.GetValue(warmupRatio), WarmupSteps = parsed.GetValue(warmupSteps), WeightDecay = parsed.GetValue(weightDecay),
                Scheduler = LearningRateSchedule.ParseKind(parsed.GetValue(scheduler)!), Seed = parsed.GetValue(seed),
                EvalSteps = parsed.GetValue(evalSteps), SaveSteps = parsed.GetValue(saveSteps), SaveTotalLimit = parsed.GetValue(saveLimit),
                EarlyStoppingPatience = parsed.GetValue(patience),
            };
            // --dtype bf16 is mixed precision: the weights stay float32 and a bf16 copy computes.
            ComputeOptions compute = model.Compute(parsed, cli);
            options = options with { ComputeDtype = compute.Dtype ?? ComputeDtype.Float32 };
            options.Validate();   // before the model is fetched
            string folder = await DownloadProgressView.ResolveAsync(cli, parsed.GetValue(model.Model)!, parsed.GetValue(model.Revision), cli.Hub(), cancellationToken);
            var settings = new FineTuningSettings(folder, chosen, parsed.GetValue(train)!, options)
            {
                ValidationFile = parsed.GetValue(validation),
                Columns = new DataColumns(parsed.GetValue(textColumn), parsed.GetValue(pairColumn), parsed.GetValue(labelColumn)),
                Features = new FeatureOptions(parsed.GetValue(maxLength) ?? (chosen == FineTuningTask.QuestionAnswering ? 384 : 128), parsed.GetValue(docStride)),
                Compute = compute with { Dtype = ComputeDtype.Float32 },
                Resume = parsed.GetResult(resume) is null ? null : parsed.GetValue(resume) ?? "latest",
            };
            TrainingSummary summary = cli.ErrorIsTerminal
                ? await WithProgressBar(cli, settings, cancellationToken)
                : await FineTuner.RunAsync(settings, p =>
                {
                    // Redirected: plain lines, about a hundred in a run, and every evaluation.
                    if (p.Metrics is not null || p.Step == p.TotalSteps || p.Step % Math.Max(1, p.TotalSteps / 100) == 0) cli.Error.WriteLine(Describe(p));
                }, cancellationToken);
            TrainingCurves.Write(Path.Combine(outputFolder, "train_log.jsonl"), TaskEvaluation.MainMetric(chosen));
            cli.Out.WriteLine(summary.BestMetric is { } best
                ? $"model written to {summary.FinalModelFolder} (step {summary.BestStep} of {summary.Steps}, {TaskEvaluation.MainMetric(chosen)} {best.ToString("G4", CultureInfo.InvariantCulture)}{(summary.StoppedEarly ? ", stopped early" : "")})"
                : $"model written to {summary.FinalModelFolder} ({summary.Steps} steps)");
            return 0;
        });
        return command;
    }

    static async Task<TrainingSummary> WithProgressBar(CliInvocation cli, FineTuningSettings settings, CancellationToken cancellationToken)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(cli.Error), Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes,
        });
        TrainingSummary summary = null!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                ProgressTask bar = context.AddTask("fine-tuning", maxValue: 1);
                summary = await FineTuner.RunAsync(settings, p =>
                {
                    bar.MaxValue = p.TotalSteps;
                    bar.Value = p.Step;
                    bar.Description = Markup.Escape(Describe(p));
                    if (p.Metrics is not null) console.MarkupLine(Markup.Escape(Describe(p)));
                }, cancellationToken);
            });
        return summary;
    }

    /// <summary>One line of a run's progress: step, loss, rate, speed, time left, and the evaluation when there is one.</summary>
    internal static string Describe(TrainingProgress p)
    {
        var line = FormattableString.Invariant($"step {p.Step}/{p.TotalSteps}  epoch {p.Epoch + 1}  loss {p.Loss:F4}  lr {p.LearningRate:0.00e+0}  {p.TokensPerSecond:F0} tokens/s  ETA {p.Remaining:hh\\:mm\\:ss}");
        if (p.Metrics is null) return line;
        return line + "  eval " + string.Join("  ", p.Metrics.Select(m => FormattableString.Invariant($"{m.Key} {m.Value:G4}")));
    }
}
