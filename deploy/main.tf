# Terraform for a lambda-loop function, using the zip build.sh makes:
#
#   ./build.sh --example echo --arch arm64
#   terraform -chdir=deploy init && terraform -chdir=deploy apply
#
# build.sh's zips are reproducible, so `source_code_hash` only changes when the code does:
# an unchanged function is never redeployed.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

locals {
  echo_zip = "${path.module}/../target/lambda/echo/arm64/bootstrap.zip"
}

resource "aws_iam_role" "lambda" {
  name = "lambda-loop-echo"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "echo" {
  function_name    = "lambda-loop-echo"
  role             = aws_iam_role.lambda.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = local.echo_zip
  source_code_hash = filebase64sha256(local.echo_zip)
  memory_size      = 128
  timeout          = 10
}

output "echo_function_name" {
  value = aws_lambda_function.echo.function_name
}
