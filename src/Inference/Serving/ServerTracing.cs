using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TorchVisionModels.Classification;

namespace Inference.Serving;

/// <summary>
/// Traces, with OpenTelemetry's .NET SDK: each inference request is an <c>infer</c> span (under ASP.NET Core's
/// request span) with its <c>read</c> (the body), <c>decode</c> (each image file) and <c>queue</c> (waiting for a
/// batch) spans; each forward pass a <c>batch</c> span linking the requests it served. Exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with the SDK's other <c>OTEL_*</c> variables), off otherwise.
/// </summary>
static class ServerTracing
{
    /// <summary>The source of the server's own spans.</summary>
    public static readonly ActivitySource Spans = new("TorchVisionResNet.Serve");

    /// <summary>Sends the spans over OTLP when the environment names a collector.</summary>
    public static void AddTo(WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
            return;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("torchvision-resnet"))
            .WithTracing(tracing => tracing
                .AddSource(Spans.Name, DynamicBatcher.ActivitySourceName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
    }
}
