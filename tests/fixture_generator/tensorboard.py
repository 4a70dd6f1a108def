"""TensorBoard event files as torch.utils.tensorboard.SummaryWriter writes them. tensorboard itself is not packaged
for Debian 12, so torch's writer cannot run here: this replays its calls (torch/utils/tensorboard/writer.py and
summary.scalar in torch 1.13) with Google's protobuf serialising messages declared from tensorflow's event.proto and
summary.proto field numbers, framed as TFRecords with a CRC-32C computed bit by bit from its definition."""

import json
import os

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# The fake clock the C# writer is given: the writer's first event, the two purge events, then an add_scalar without
# walltime. Fractions of a second that a double holds exactly, as time.time() gives.
CLOCK = [1764633600.25, 1764633600.5, 1764633600.75, 1764633605.125]
PURGE_STEP = 3
# (tag, scalar_value, global_step, walltime): None is left out of the call.
SCALARS = [
    ("loss/train", 2.302585092994046, 3, 1764633601.5),
    ("loss/validation", 1.0e-8, 4, 1764633602.0),
    ("lr", 0.1, 0, 1764633603.0625),
    ("accuracy/top1", 87.5, 2**40, 1764633604.0),
    ("ünïcode/λ", -3.0e38, None, None),
]


def messages():
    """Event, Summary, Summary.Value and SessionLog, declared with the field numbers of tensorflow's protos (only what scalars use)."""
    proto = descriptor_pb2.FileDescriptorProto(name="tensorboard_subset.proto", package="tensorboard", syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto
    def field(message, name, number, kind, type_name=None, repeated=False, oneof=None):
        f = message.field.add(name=name, number=number, type=kind, label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof
    summary = proto.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    field(value, "tag", 1, F.TYPE_STRING)
    field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    field(summary, "value", 1, F.TYPE_MESSAGE, ".tensorboard.Summary.Value", repeated=True)
    log = proto.message_type.add(name="SessionLog")
    status = log.enum_type.add(name="SessionStatus")
    for name, number in [("STATUS_UNSPECIFIED", 0), ("START", 1), ("STOP", 2), ("CHECKPOINT", 3)]:
        status.value.add(name=name, number=number)
    field(log, "status", 1, F.TYPE_ENUM, ".tensorboard.SessionLog.SessionStatus")
    event = proto.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    field(event, "wall_time", 1, F.TYPE_DOUBLE)
    field(event, "step", 2, F.TYPE_INT64)
    field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    field(event, "summary", 5, F.TYPE_MESSAGE, ".tensorboard.Summary", oneof=0)
    field(event, "session_log", 6, F.TYPE_MESSAGE, ".tensorboard.SessionLog", oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    factory = message_factory.MessageFactory(pool)
    return [factory.GetPrototype(pool.FindMessageTypeByName(f"tensorboard.{name}")) for name in ["Event", "Summary", "Summary.Value", "SessionLog"]]


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    length = len(data).to_bytes(8, "little")
    return length + masked(crc32c(length)).to_bytes(4, "little") + data + masked(crc32c(data)).to_bytes(4, "little")


def tensorboard(out):
    assert crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C (RFC 3720)
    Event, Summary, Value, SessionLog = messages()
    clock = iter(CLOCK)
    # EventFileWriter's first event, then SummaryWriter's purge_step events, each stamped by FileWriter.add_event.
    events = [Event(wall_time=next(clock), file_version="brain.Event:2"),
              Event(wall_time=next(clock), step=PURGE_STEP, file_version="brain.Event:2"),
              Event(wall_time=next(clock), step=PURGE_STEP, session_log=SessionLog(status=SessionLog.START))]
    for tag, value, step, walltime in SCALARS:
        event = Event(summary=Summary(value=[Value(tag=tag, simple_value=float(value))]))
        event.wall_time = next(clock) if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        events.append(event)
    directory = os.path.join(out, "tensorboard")
    os.makedirs(directory)
    with open(os.path.join(directory, "events.bin"), "wb") as f:
        for event in events:
            f.write(record(event.SerializeToString()))
    with open(os.path.join(directory, "calls.json"), "w") as f:
        json.dump({"clock": CLOCK, "purge_step": PURGE_STEP,
                   "scalars": [{"tag": t, "value": v, "step": s, "walltime": w} for t, v, s, w in SCALARS]}, f, ensure_ascii=False)
