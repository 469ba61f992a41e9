"""The bench's durable workflow on AWS's Python SDK (aws-durable-execution-sdk-python), with a
minimal Runtime API loop of its own (next, handler, response), so that the driver serves it
exactly as it serves the two Rust functions: the same steps, wait, map and result as
ll-durable and official-durable. It is there for one figure, the durable API calls that
Python makes for the same workflow (its instructions and times say nothing about Rust)."""

import json
import os
import urllib.request

from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.execution import durable_execution


@durable_execution
def workflow(event, ctx):
    one = ctx.step(lambda _: 1 + 1, name="one")
    two = ctx.step(lambda _: one * 2, name="two")
    # The bench's per-step figure: `extra` more steps (0 in the workflow itself).
    for i in range(event.get("extra", 0)):
        ctx.step(lambda _, i=i: i, name="extra")
    ctx.wait(Duration.from_seconds(1), name="pause")

    def times_ten(child, item, _index, _items):
        return child.step(lambda _: item * 10, name="times-ten")

    tens = ctx.map([1, 2, 3, 4], times_ten, name="items").get_results()
    three = ctx.step(lambda _: two + sum(tens), name="three")
    return {"one": one, "two": two, "tens": tens, "three": three}


class Context:
    """What the SDK reads of a Lambda context."""

    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers["Lambda-Runtime-Invoked-Function-Arn"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]

    def get_remaining_time_in_millis(self):
        return 900_000


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as answer:
            event = json.load(answer)
            context = Context(answer.headers)
        result = workflow(event, context)
        post = urllib.request.Request(
            api + context.aws_request_id + "/response",
            data=json.dumps(result).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(post).read()


if __name__ == "__main__":
    main()
