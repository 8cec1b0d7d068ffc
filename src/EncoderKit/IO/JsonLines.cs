using System.Text;
using System.Text.Json.Nodes;

namespace EncoderKit.IO;

/// <summary>
/// JSON Lines input (one JSON object per line), each line read as Python's <c>json</c> reads it: duplicate keys (last
/// wins), NaN and ±Infinity accepted; anything else malformed is an <see cref="EncoderKitException"/> naming the
/// source and the line.
/// </summary>
public static class JsonLines
{
    /// <param name="line">One line, without its line break.</param>
    /// <param name="source">What the line comes from ("stdin", a file path), for messages.</param>
    /// <param name="number">The line's 1-based number, for messages.</param>
    /// <exception cref="EncoderKitException">The line is not one JSON object.</exception>
    public static JsonObject ParseObject(string line, string source, int number)
    {
        string at = $"line {number}";
        JsonNode? node;
        try
        {
            node = PythonJson.Parse(Encoding.UTF8.GetBytes(line), source, ErrorKind.BadInput);
        }
        catch (EncoderKitException e)
        {
            // The line number is the input's own; within the line only the column says more.
            string problem = e.Problem.StartsWith("invalid JSON at line 1, ", StringComparison.Ordinal)
                ? "malformed JSON at " + e.Problem["invalid JSON at line 1, ".Length..]
                : e.Problem;
            throw new EncoderKitException(ErrorKind.BadInput, problem, source, at, e);
        }
        return node as JsonObject ?? throw new EncoderKitException(ErrorKind.BadInput, "expected a JSON object", source, at);
    }
}
