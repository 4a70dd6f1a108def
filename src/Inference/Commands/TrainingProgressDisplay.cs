using TorchVisionModels.Training;

namespace Inference.Commands;

/// <summary>
/// Shows a training epoch's progress: on a terminal, one bar redrawn in place (images/s, loss, ETA); otherwise a
/// plain line at every tenth of the epoch, so logs stay readable.
/// </summary>
sealed class TrainingProgressDisplay(TextWriter writer, bool terminal, int epochs) : IProgress<TrainingProgress>
{
    const int Width = 30;
    int lastTenth = -1;

    public void Report(TrainingProgress p)
    {
        var done = (double)p.Batch / p.Batches;
        var eta = p.Batch == 0 ? TimeSpan.Zero : p.Elapsed / done - p.Elapsed;
        var figures = $"{p.Batch}/{p.Batches}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s  ETA {eta:mm\\:ss}";
        if (terminal)
        {
            var filled = (int)(done * Width);
            writer.Write($"\repoch {p.Epoch}/{epochs} [{new string('#', filled)}{new string('.', Width - filled)}] {figures}  ");
            if (p.Batch == p.Batches)
                writer.Write("\r" + new string(' ', Width + figures.Length + 24) + "\r");
            writer.Flush();
            return;
        }
        var tenth = (int)(done * 10);
        if (tenth != lastTenth && p.Batch < p.Batches)
        {
            lastTenth = tenth;
            writer.WriteLine($"epoch {p.Epoch}/{epochs}  {figures}");
        }
        if (p.Batch == p.Batches)
            lastTenth = -1;
    }
}
