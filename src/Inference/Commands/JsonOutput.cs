using System.Text.Json;

namespace Inference.Commands;

/// <summary>How the commands print <c>--json</c>: one indented document, its fields in snake_case (a record's <c>MedianMs</c> is <c>median_ms</c>).</summary>
static class JsonOutput
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Write(TextWriter output, object document) => output.WriteLine(JsonSerializer.Serialize(document, Indented));
}
