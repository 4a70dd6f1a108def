namespace TorchVisionModels;

/// <summary>
/// An option that cannot be honoured, told as data (which option, its value, why, what would work) so a front end can
/// say it with its own names: the command line's <c>--dtype bfloat16</c> is
/// <see cref="Classification.ClassifierOptions.Dtype"/> BFloat16 here.
/// </summary>
/// <param name="option">The option at fault: a property's name of the options type (<see cref="Classification.ClassifierOptions"/>, <see cref="Training.FineTuningOptions"/>), or <c>Weights</c>.</param>
/// <param name="value">Its value.</param>
/// <param name="problem">Why it cannot be honoured, naming no option.</param>
/// <param name="fix">An option and value that would work, or null.</param>
public sealed class OptionException(string option, object value, string problem, (string Option, object Value)? fix = null)
    : ArgumentException($"{option} {value}: {problem}{(fix is { } f ? $"; set {f.Option} to {f.Value}" : "")}.")
{
    /// <summary>The option at fault: a property's name of the options type, or <c>Weights</c>.</summary>
    public string Option { get; } = option;

    /// <summary>Its value.</summary>
    public object Value { get; } = value;

    /// <summary>Why it cannot be honoured, naming no option.</summary>
    public string Problem { get; } = problem;

    /// <summary>An option and value that would work, or null.</summary>
    public (string Option, object Value)? Fix { get; } = fix;
}
