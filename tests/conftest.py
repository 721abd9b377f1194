pytest_plugins = ["pytester", "tests.openapi_contract"]
