using System.Globalization;

namespace EncoderKit.Cli.Commands;

/// <summary>An option's comma-separated list of numbers ("1,0.5", spaces around items allowed), or one error naming the option.</summary>
static class NumberList
{
    /// <param name="what">What the list holds, for the error: "numbers", "whole numbers".</param>
    public static double[] Parse(string list, string field, string what = "numbers") =>
        [.. list.Split(',', StringSplitOptions.TrimEntries).Select(item =>
            double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw Bad(list, field, what))];

    public static EncoderKitException Bad(string list, string field, string what = "numbers") =>
        new(ErrorKind.BadInput, $"'{list}' is not a comma-separated list of {what}", field: field);
}
