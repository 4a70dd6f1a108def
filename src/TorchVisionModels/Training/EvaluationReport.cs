using System.Text;
using static System.FormattableString;

namespace TorchVisionModels.Training;

/// <summary>
/// An <see cref="Evaluation"/> as one self-contained HTML page (it loads nothing): top-1, top-5 and loss, each class's
/// accuracy as a bar, and the confusion matrix, shaded by share of the row; past <see cref="MaxMatrixClasses"/>
/// classes, the most frequent confusions instead.
/// </summary>
public static class EvaluationReport
{
    /// <summary>The most classes whose whole confusion matrix is drawn.</summary>
    public const int MaxMatrixClasses = 50;

    /// <summary>How many confusions are listed when the matrix is too large to draw.</summary>
    public const int MostConfused = 50;

    /// <summary>Writes the page for <paramref name="evaluation"/> of <paramref name="classes"/> to <paramref name="path"/>, atomically.</summary>
    /// <param name="path">The .html file.</param>
    /// <param name="title">What was evaluated on what (the model and the data).</param>
    /// <param name="evaluation">The numbers.</param>
    /// <param name="classes">The class names, by index.</param>
    public static void Write(string path, string title, Evaluation evaluation, IReadOnlyList<string> classes)
        => HtmlPage.Write(path, writer =>
        {
            writer.Write(HtmlPage.Start(title, """
                .bar { display: inline-block; height: 0.9em; background: #7aa7e6; vertical-align: middle; }
                td.name { text-align: left; }
                """));
            writer.Write(Invariant($"<p id=\"summary\">{evaluation.Total.Sum()} images: top-1 {evaluation.Top1:F2}%, top-5 {evaluation.Top5:F2}%, loss {evaluation.Loss:F4}</p>\n"));
            writer.Write("<h2>Per class</h2>\n<table id=\"classes\"><tr><th>class</th><th>images</th><th>top-1</th><th></th></tr>\n");
            for (var i = 0; i < classes.Count; i++)
            {
                var accuracy = evaluation.Total[i] == 0 ? 0 : 100.0 * evaluation.Correct[i] / evaluation.Total[i];
                writer.Write(Invariant($"<tr><td class=\"name\">{HtmlPage.Encode(classes[i])}</td><td>{evaluation.Total[i]}</td><td>{accuracy:F2}%</td><td><span class=\"bar\" style=\"width: {accuracy:F0}px\"></span></td></tr>\n"));
            }
            writer.Write("</table>\n");
            if (classes.Count <= MaxMatrixClasses)
                Matrix(writer, evaluation, classes);
            else
                Confusions(writer, evaluation, classes);
            writer.Write(HtmlPage.End);
        });

    static void Matrix(TextWriter writer, Evaluation evaluation, IReadOnlyList<string> classes)
    {
        var html = new StringBuilder("<h2>Confusion matrix</h2>\n<p>Rows: the true class; columns: the best class.</p>\n<table id=\"confusion\"><tr><th></th>");
        foreach (var name in classes)
            html.Append($"<th>{HtmlPage.Encode(name)}</th>");
        html.Append("</tr>\n");
        for (var row = 0; row < classes.Count; row++)
        {
            html.Append($"<tr><th>{HtmlPage.Encode(classes[row])}</th>");
            for (var column = 0; column < classes.Count; column++)
            {
                var share = evaluation.Total[row] == 0 ? 0 : (double)evaluation.Confusion[row][column] / evaluation.Total[row];
                html.Append(Invariant($"<td style=\"background: rgba(42, 110, 200, {share:F3})\">{evaluation.Confusion[row][column]}</td>"));
            }
            html.Append("</tr>\n");
        }
        writer.Write(html.Append("</table>\n").ToString());
    }

    static void Confusions(TextWriter writer, Evaluation evaluation, IReadOnlyList<string> classes)
    {
        var pairs = Enumerable.Range(0, classes.Count)
            .SelectMany(row => Enumerable.Range(0, classes.Count).Where(column => column != row && evaluation.Confusion[row][column] > 0).Select(column => (row, column)))
            .OrderByDescending(p => evaluation.Confusion[p.row][p.column])
            .Take(MostConfused);
        writer.Write($"<h2>Most confused</h2>\n<p>{classes.Count} classes: the {MostConfused} most frequent confusions instead of the whole matrix.</p>\n");
        writer.Write("<table id=\"confusions\"><tr><th>true class</th><th>taken for</th><th>images</th></tr>\n");
        foreach (var (row, column) in pairs)
            writer.Write($"<tr><td class=\"name\">{HtmlPage.Encode(classes[row])}</td><td class=\"name\">{HtmlPage.Encode(classes[column])}</td><td>{evaluation.Confusion[row][column]}</td></tr>\n");
        writer.Write("</table>\n");
    }
}
