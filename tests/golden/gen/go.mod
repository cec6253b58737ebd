module propscaler/golden

go 1.19
