using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.IO;

/// <summary>
/// JSON exactly as Python's <c>json</c> module reads the files transformers writes: duplicate keys (the last one
/// wins), <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> are accepted; trailing commas, comments, a byte order
/// mark, control characters in strings and anything after the value are rejected. Stricter than Python in one
/// place: invalid UTF-8 and unpaired surrogate escapes are errors here (.NET strings downstream would mangle them).
/// Every rejection is an <see cref="EncoderKitException"/> with the file, line, column and byte offset.
/// </summary>
internal static class PythonJson
{
    // Python's own limit is its recursion limit (about 1000); this is as deep as any real file goes and safe for the stack.
    const int MaxDepth = 512;

    /// <summary>Reads <paramref name="path"/>; a missing or unreadable file is a typed error naming it.</summary>
    public static byte[] ReadFile(string path) => UserFile.Read(path, () => File.ReadAllBytes(path));

    /// <summary>The document as a node tree (null for a top-level <c>null</c>); NaN and ±Infinity become doubles.</summary>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8, string file, ErrorKind kind)
    {
        var reader = new Reader(utf8, file, kind, build: true);
        return reader.Document();
    }

    /// <summary>
    /// Checks the document and returns UTF-8 that <see cref="JsonDocument"/> reads with the same meaning: the input
    /// itself, or, when it holds NaN / ±Infinity (which JsonDocument cannot), a copy with those values as null.
    /// </summary>
    public static ReadOnlyMemory<byte> Validate(byte[] utf8, string file, ErrorKind kind)
    {
        var reader = new Reader(utf8, file, kind, build: false);
        reader.Document();
        if (reader.NonFinite is not { Count: > 0 } spans) return utf8;
        var copy = new MemoryStream(utf8.Length);
        int at = 0;
        foreach (var (start, length) in spans)
        {
            copy.Write(utf8, at, start - at);
            copy.Write("null"u8);
            at = start + length;
        }
        copy.Write(utf8, at, utf8.Length - at);
        return copy.GetBuffer().AsMemory(0, (int)copy.Length);
    }

    /// <summary>
    /// Writes <paramref name="node"/> as Python's <c>json.dump</c> does: NaN and ±Infinity as the bare literals it reads
    /// back (System.Text.Json refuses to write them), everything else as usual.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                writer.WriteStartObject();
                foreach (var (key, value) in o)
                {
                    writer.WritePropertyName(key);
                    Write(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (JsonNode? item in a) Write(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValue v when v.TryGetValue(out double d) && !double.IsFinite(d):
                writer.WriteRawValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity", skipInputValidation: true);
                break;
            case null:
                writer.WriteNullValue();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    /// <summary>A short rendering of a value for messages; unlike ToJsonString it never throws (NaN included).</summary>
    public static string Describe(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue(out double d) && !double.IsFinite(d))
            return double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        string text = node?.ToJsonString(NamedFloats) ?? "null";
        return text.Length > 60 ? text[..57] + "..." : text;
    }

    // NaN and ±Infinity nested in a value would make plain ToJsonString throw.
    static readonly JsonSerializerOptions NamedFloats = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    ref struct Reader(ReadOnlySpan<byte> text, string file, ErrorKind kind, bool build)
    {
        readonly ReadOnlySpan<byte> text = text;
        readonly string file = file;
        readonly ErrorKind kind = kind;
        readonly bool build = build;
        int at;
        int depth;

        public List<(int Start, int Length)>? NonFinite;

        public JsonNode? Document()
        {
            if (text is [0xEF, 0xBB, 0xBF, ..])
                throw Error(0, "starts with a UTF-8 byte order mark, which Python's json rejects (save it as UTF-8 without BOM)");
            SkipSpace();
            JsonNode? value = Value();
            SkipSpace();
            if (at < text.Length) throw Error(at, "extra data after the JSON value");
            return value;
        }

        JsonNode? Value()
        {
            if (at >= text.Length) throw Error(at, "expecting a value, found the end of the file");
            switch (text[at])
            {
                case (byte)'{': return Object();
                case (byte)'[': return Array();
                case (byte)'"':
                    string? s = String();
                    return build ? JsonValue.Create(s) : null;
                case (byte)'t': Literal("true"u8); return build ? JsonValue.Create(true) : null;
                case (byte)'f': Literal("false"u8); return build ? JsonValue.Create(false) : null;
                case (byte)'n': Literal("null"u8); return null;
                case (byte)'N': return NonFiniteLiteral("NaN"u8, double.NaN);
                case (byte)'I': return NonFiniteLiteral("Infinity"u8, double.PositiveInfinity);
                case (byte)'-' when text[at..].StartsWith("-Infinity"u8): return NonFiniteLiteral("-Infinity"u8, double.NegativeInfinity);
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9'): return Number();
                default: throw Error(at, "expecting a value");
            }
        }

        JsonObject? Object()
        {
            Enter();
            JsonObject? result = build ? new JsonObject() : null;
            at++;
            SkipSpace();
            if (Peek() == '}') { at++; depth--; return result; }
            while (true)
            {
                if (Peek() != '"') throw Error(at, "expecting a property name in double quotes");
                string? key = String();
                SkipSpace();
                if (Peek() != ':') throw Error(at, "expecting ':' after the property name");
                at++;
                SkipSpace();
                JsonNode? value = Value();
                if (result is not null)
                {
                    // Python's dict keeps the first key's place and the last value.
                    result[key!] = value;
                }
                SkipSpace();
                byte next = Peek();
                at++;
                if (next == '}') break;
                if (next != ',') throw Error(at - 1, "expecting ',' or '}' in the object");
                SkipSpace();
            }
            depth--;
            return result;
        }

        JsonArray? Array()
        {
            Enter();
            JsonArray? result = build ? new JsonArray() : null;
            at++;
            SkipSpace();
            if (Peek() == ']') { at++; depth--; return result; }
            while (true)
            {
                JsonNode? value = Value();
                result?.Add(value);
                SkipSpace();
                byte next = Peek();
                at++;
                if (next == ']') break;
                if (next != ',') throw Error(at - 1, "expecting ',' or ']' in the list");
                SkipSpace();
            }
            depth--;
            return result;
        }

        void Enter()
        {
            if (++depth > MaxDepth) throw Error(at, $"nested deeper than {MaxDepth} levels");
        }

        string? String()
        {
            int start = at++;
            StringBuilder? builder = build ? new StringBuilder() : null;
            while (true)
            {
                if (at >= text.Length) throw Error(start, "unterminated string");
                byte b = text[at];
                if (b == '"') { at++; return builder?.ToString(); }
                if (b < 0x20) throw Error(at, $"control character 0x{b:X2} inside a string (write it as an escape)");
                if (b == '\\') { Escape(builder); continue; }
                if (b < 0x80) { builder?.Append((char)b); at++; continue; }
                int rune = Utf8Rune();
                if (builder is not null) builder.Append(char.ConvertFromUtf32(rune));
            }
        }

        void Escape(StringBuilder? builder)
        {
            int start = at;
            if (at + 1 >= text.Length) throw Error(start, "unterminated string");
            byte e = text[at + 1];
            at += 2;
            char? simple = e switch
            {
                (byte)'"' => '"', (byte)'\\' => '\\', (byte)'/' => '/', (byte)'b' => '\b',
                (byte)'f' => '\f', (byte)'n' => '\n', (byte)'r' => '\r', (byte)'t' => '\t', _ => null,
            };
            if (simple is char c) { builder?.Append(c); return; }
            if (e != 'u') throw Error(start, "invalid escape");
            int unit = Hex4(start);
            if (char.IsHighSurrogate((char)unit) && text[at..].StartsWith("\\u"u8))
            {
                int save = at;
                at += 2;
                int low = Hex4(save);
                if (char.IsLowSurrogate((char)low))
                {
                    builder?.Append((char)unit).Append((char)low);
                    return;
                }
                at = save;
            }
            if (char.IsSurrogate((char)unit)) throw Error(start, $"unpaired surrogate \\u{unit:x4} in a string");
            builder?.Append((char)unit);
        }

        int Hex4(int escapeStart)
        {
            if (at + 4 > text.Length || !int.TryParse(text.Slice(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int unit))
                throw Error(escapeStart, "invalid \\u escape (expected four hex digits)");
            at += 4;
            return unit;
        }

        /// <summary>Decodes one multi-byte UTF-8 sequence at the cursor, rejecting what Python's strict decoder rejects.</summary>
        int Utf8Rune()
        {
            if (System.Text.Rune.DecodeFromUtf8(text[at..], out System.Text.Rune rune, out int length) != System.Buffers.OperationStatus.Done)
                throw Error(at, $"invalid UTF-8 byte 0x{text[at]:X2}");
            at += length;
            return rune.Value;
        }

        JsonNode? Number()
        {
            int start = at;
            if (Peek() == '-') at++;
            if (Peek() == '0') at++;
            else if (!Digits()) throw Error(start, "expecting a value");
            if (Peek() == '.')
            {
                int dot = at++;
                if (!Digits()) { at = dot; return NumberValue(start); }   // "1." reads 1, then fails on "."
            }
            if (Peek() is (byte)'e' or (byte)'E')
            {
                int e = at++;
                if (Peek() is (byte)'+' or (byte)'-') at++;
                if (!Digits()) at = e;
            }
            return NumberValue(start);
        }

        JsonNode? NumberValue(int start)
        {
            if (!build) return null;
            ReadOnlySpan<byte> number = text[start..at];
            // Python reads an out-of-range float as ±inf; JsonElement cannot hold that.
            double d = double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
            return double.IsFinite(d) ? JsonValue.Create(JsonElement.Parse(number)) : JsonValue.Create(d);
        }

        bool Digits()
        {
            int start = at;
            while (at < text.Length && text[at] is >= (byte)'0' and <= (byte)'9') at++;
            return at > start;
        }

        JsonNode? NonFiniteLiteral(ReadOnlySpan<byte> literal, double value)
        {
            int start = at;
            Literal(literal);
            (NonFinite ??= []).Add((start, literal.Length));
            return build ? JsonValue.Create(value) : null;
        }

        void Literal(ReadOnlySpan<byte> literal)
        {
            if (!text[at..].StartsWith(literal)) throw Error(at, "expecting a value");
            at += literal.Length;
        }

        byte Peek() => at < text.Length ? text[at] : (byte)0;

        void SkipSpace()
        {
            while (at < text.Length && text[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') at++;
        }

        readonly EncoderKitException Error(int offset, string problem)
        {
            int line = 1, lineStart = 0;
            for (int i = 0; i < offset && i < text.Length; i++)
                if (text[i] == '\n') { line++; lineStart = i + 1; }
            return new EncoderKitException(kind, $"invalid JSON at line {line}, column {offset - lineStart + 1} (byte {offset}): {problem}", file);
        }
    }
}
