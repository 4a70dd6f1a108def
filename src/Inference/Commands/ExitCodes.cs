using System.CommandLine;

namespace Inference.Commands;

/// <summary>
/// The app's exit codes, and the one place that turns exceptions into them: a problem the user can fix (a bad option,
/// file or model) is one line on stderr and <see cref="BadInput"/>; anything else is a bug, one line and
/// <see cref="InternalError"/>, never a stack trace.
/// </summary>
static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Success = 0;

    /// <summary>Some inputs (images) failed, each reported; the others were done.</summary>
    public const int SomeInputsFailed = 1;

    /// <summary>A bad option, model, weights file or data folder: nothing was done.</summary>
    public const int BadInput = 2;

    /// <summary>A bug: please report it with the command that was run.</summary>
    public const int InternalError = 3;

    /// <summary>What <c>--help</c> says of them.</summary>
    public const string Help = "Exit codes: 0 done, 1 some images failed (each named), 2 bad option, model, weights or data, 3 internal error (a bug).";

    public static int Report(ParseResult result, Func<int> action)
    {
        var error = result.InvocationConfiguration.Error;
        try
        {
            return action();
        }
        catch (TorchVisionModels.OptionException e)
        {
            error.WriteLine($"error: {OptionNames.Message(e)}");
            return BadInput;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            // .NET appends " (Parameter 'name')" to ArgumentException messages: noise for a command-line user.
            var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
            error.WriteLine($"error: {message}");
            return BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"internal error: {e.GetType().Name}: {e.Message.TrimEnd('.')}. This is a bug; please report it with the command you ran.");
            return InternalError;
        }
    }
}
