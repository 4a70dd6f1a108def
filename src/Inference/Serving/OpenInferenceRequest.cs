using System.Text.Json;

namespace Inference.Serving;

/// <summary>
/// A KServe v2 inference request, read from the body's UTF-8 JSON with <see cref="Utf8JsonReader"/>: no document
/// is built, and the input's <c>data</c> is only located and counted here, so its declared shape can be checked
/// against what was sent before anything is allocated for it. Every field has its type checked; a wrong one is a
/// <see cref="BadRequestException"/> naming it.
/// </summary>
sealed class OpenInferenceRequest
{
    /// <summary>The request's <c>id</c>, echoed in the response.</summary>
    public string? Id { get; private set; }

    /// <summary><c>parameters.top_k</c>, if given.</summary>
    public int? TopK { get; private set; }

    /// <summary>The names in <c>outputs</c>, or null when the request names none.</summary>
    public List<string>? Outputs { get; private set; }

    /// <summary><c>inputs[0].name</c>.</summary>
    public string? InputName { get; private set; }

    /// <summary><c>inputs[0].datatype</c>.</summary>
    public string? Datatype { get; private set; }

    /// <summary><c>inputs[0].shape</c>.</summary>
    public long[]? Shape { get; private set; }

    /// <summary><c>inputs[0].data</c> as JSON (an array, nested or flat), to be read once its shape and count are checked.</summary>
    public ReadOnlyMemory<byte> Data { get; private set; }

    /// <summary>The values in <c>inputs[0].data</c>, however nested.</summary>
    public long Count { get; private set; }

    /// <summary>The first value in <c>data</c> that is not a number, or -1.</summary>
    public long FirstNonNumber { get; private set; } = -1;

    /// <summary>The first value in <c>data</c> that is not a string, or -1.</summary>
    public long FirstNonString { get; private set; } = -1;

    /// <summary>Reads and checks the request's structure and types.</summary>
    /// <exception cref="BadRequestException">It is not JSON, or a field is missing or of the wrong type; the message names it.</exception>
    public static OpenInferenceRequest Parse(ReadOnlyMemory<byte> json)
    {
        var request = new OpenInferenceRequest();
        try
        {
            var reader = new Utf8JsonReader(json.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new BadRequestException("The request body must be a JSON object with \"inputs\".");
            var seen = Properties(ref reader, "", (ref Utf8JsonReader value, string name) =>
            {
                switch (name)
                {
                    case "id":
                        request.Id = String(ref value, "id");
                        break;
                    case "parameters":
                        request.TopK = Parameters(ref value, "parameters");
                        break;
                    case "outputs":
                        request.Outputs = OutputNames(ref value);
                        break;
                    case "inputs":
                        request.Inputs(ref value, json);
                        break;
                    default:
                        value.Skip();
                        break;
                }
            });
            if (reader.Read())
                throw new BadRequestException("The request body has more after its JSON object.");
            if (!seen.Contains("inputs"))
                throw new BadRequestException(InputsMessage);
            return request;
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"The request body is not JSON: {e.Message}");
        }
    }

    delegate void PropertyReader(ref Utf8JsonReader value, string name);

    /// <summary>
    /// Reads the object the reader is on, property by property: <paramref name="read"/> gets each value, and a name
    /// given twice is refused, naming <paramref name="where"/> (the object's path; empty for the request), as a
    /// duplicate key is everywhere in a request. Returns the names.
    /// </summary>
    static HashSet<string> Properties(ref Utf8JsonReader reader, string where, PropertyReader read)
    {
        var seen = new HashSet<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (!seen.Add(name))
                throw new BadRequestException(where.Length == 0 ? $"\"{name}\" appears twice in the request." : $"{where}.{name} appears twice.");
            read(ref reader, name);
        }
        return seen;
    }

    const string InputsMessage = "inputs must be an array of one input, 'input' (FP32) or 'image' (BYTES).";

    void Inputs(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new BadRequestException(InputsMessage);
        Properties(ref reader, "inputs[0]", (ref Utf8JsonReader value, string name) =>
        {
            switch (name)
            {
                case "name":
                    InputName = String(ref value, "inputs[0].name");
                    break;
                case "datatype":
                    Datatype = String(ref value, "inputs[0].datatype");
                    break;
                case "shape":
                    Shape = WholeNumbers(ref value, "inputs[0].shape");
                    break;
                case "data":
                    var start = (int)value.TokenStartIndex;
                    CountData(ref value);
                    Data = json[start..(int)value.BytesConsumed];
                    break;
                case "parameters":
                    _ = Parameters(ref value, "inputs[0].parameters");
                    break;
                default:
                    value.Skip();
                    break;
            }
        });
        if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
            throw new BadRequestException(InputsMessage);
        if (Shape is null)
            throw new BadRequestException("inputs[0].shape is missing.");
        if (Data.IsEmpty)
            throw new BadRequestException("inputs[0].data must be an array.");
    }

    /// <summary>Walks <c>data</c>, counting its values and noting the first that is not a number and not a string.</summary>
    void CountData(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException("inputs[0].data must be an array.");
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray or JsonTokenType.EndArray:
                    continue;
                case JsonTokenType.StartObject:
                    reader.Skip();
                    break;
            }
            if (reader.TokenType != JsonTokenType.Number && FirstNonNumber < 0)
                FirstNonNumber = Count;
            if (reader.TokenType != JsonTokenType.String && FirstNonString < 0)
                FirstNonString = Count;
            Count++;
        }
    }

    static List<string> OutputNames(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException("outputs must be an array of objects with a \"name\".");
        var names = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var field = $"outputs[{names.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new BadRequestException($"{field} must be an object with a \"name\".");
            string? name = null;
            Properties(ref reader, field, (ref Utf8JsonReader value, string property) =>
            {
                if (property == "name")
                    name = String(ref value, $"{field}.name");
                else if (property == "parameters")
                    _ = Parameters(ref value, $"{field}.parameters");
                else
                    value.Skip();
            });
            names.Add(name ?? throw new BadRequestException($"{field}.name is missing."));
        }
        return names;
    }

    /// <summary>A parameters object's <c>top_k</c>, the one parameter that means anything here.</summary>
    static int? Parameters(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new BadRequestException($"{field} must be an object.");
        int? topK = null;
        Properties(ref reader, field, (ref Utf8JsonReader value, string name) =>
        {
            if (name == "top_k")
                topK = value.TokenType == JsonTokenType.Number && value.TryGetInt32(out var k) ? k
                    : throw new BadRequestException($"{field}.top_k must be a whole number.");
            else
                value.Skip();
        });
        return topK;
    }

    static string String(ref Utf8JsonReader reader, string field)
        => reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new BadRequestException($"{field} must be a string.");

    static long[] WholeNumbers(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException($"{field} must be an array of whole numbers.");
        var numbers = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            numbers.Add(reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) ? n
                : throw new BadRequestException($"{field}[{numbers.Count}] must be a whole number."));
            if (numbers.Count > 8)
                throw new BadRequestException($"{field} has more than 8 dimensions.");
        }
        return [.. numbers];
    }
}
