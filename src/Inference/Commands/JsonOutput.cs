using System.Text.Json;

namespace Inference.Commands;

/// <summary>How the commands print <c>--json</c>: one indented document.</summary>
static class JsonOutput
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(TextWriter output, object document) => output.WriteLine(JsonSerializer.Serialize(document, Indented));
}
