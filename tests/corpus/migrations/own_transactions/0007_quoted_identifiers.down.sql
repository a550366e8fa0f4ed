DROP TABLE "billing;settings";
